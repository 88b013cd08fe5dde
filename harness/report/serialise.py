"""The one place where an item's record becomes report data.

``ItemRecord`` (``harness.run.records``) is what an item knows; here it is written as the plain
data that travels from a pytest-xdist worker on the test report, as the JUnit properties of its
test case, as Allure steps and attachments, and as its entry in ``summary.json``. The formats
are the report's contract: ``summary.json`` is read by ``report merge``, the HTML report and CI.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import allure

from harness.findings import Finding
from harness.run.identity import ItemId
from harness.run.records import HopReport, ItemRecord
from harness.run.summary import ItemResult

#: The test report attribute that carries an item's record (pytest-xdist forwards a report's
#: attributes from the worker, so the controlling process reads it there).
REPORT_ATTRIBUTE = "spin_harness_record"


def hop_json(hop: HopReport) -> dict[str, Any]:
    return asdict(hop)


def to_wire(record: ItemRecord) -> dict[str, Any]:
    """Plain data for the test report: builtin types only (execnet refuses even a ``str``
    subclass such as an enum member), so pytest-xdist can send it from a worker."""
    return {
        "item": {name: str(value) for name, value in asdict(record.item).items()},
        "nodeid": record.nodeid,
        "cause": record.cause,
        "timings": record.timings,
        "hop": hop_json(record.hop) if record.hop else None,
        "findings": None if record.findings is None else [f.to_json() for f in record.findings],
        "steps": record.steps,
        "kubeconfig": record.kubeconfig,
        "artifacts": record.artifacts,
        "repro": record.repro,
    }


def from_wire(data: dict[str, Any]) -> ItemRecord:
    """The record ``to_wire`` wrote."""
    findings = data.get("findings")
    return ItemRecord(
        item=ItemId(**data["item"]),
        nodeid=data["nodeid"],
        cause=data.get("cause"),
        timings=data.get("timings"),
        hop=HopReport(**data["hop"]) if data.get("hop") else None,
        findings=None if findings is None else [Finding.from_json(f) for f in findings],
        steps=data.get("steps"),
        kubeconfig=data.get("kubeconfig"),
        artifacts=data.get("artifacts"),
        repro=data.get("repro"),
    )


def junit_properties(record: ItemRecord) -> list[tuple[str, object]]:
    """The test case's JUnit ``<property>`` entries (pytest's junitxml writes ``str(value)``)."""
    properties: list[tuple[str, object]] = []
    if record.cause is not None:
        properties.append(("cause", record.cause))
    if record.timings is not None:
        properties.append(("timings", dict(record.timings)))
    if record.hop is not None:
        # Release notes can run to pages: summary.json and the HTML report carry them.
        hop = {k: v for k, v in hop_json(record.hop).items() if k != "release_notes"}
        properties.append(("hop", hop))
    if record.findings is not None:
        properties.append(("findings", [f.to_json() for f in record.findings]))
    if record.kubeconfig is not None:
        properties.append(("kubeconfig", record.kubeconfig))
    if record.steps is not None:
        properties.append(("steps", list(record.steps)))
    return properties


def attach_to_allure(record: ItemRecord) -> None:
    """Ansible tasks and scenario steps as Allure steps; detector findings as a JSON attachment."""
    for event in record.hop.playbook if record.hop else []:
        with allure.step(f"{event['task']} [{event['status']}, {event['seconds']:.1f}s]"):
            if event["status"] == "failed":
                allure.attach(event["message"], name="message", attachment_type=allure.attachment_type.TEXT)
    if record.findings:
        allure.attach(
            json.dumps([f.to_json() for f in record.findings], indent=2, default=str),
            name=f"{record.item.phase} findings",
            attachment_type=allure.attachment_type.JSON,
        )
    for step in record.steps or []:
        who = f" [{step['tenant']}]" if step.get("tenant") else ""
        with allure.step(f"{step['title']}{who} [{step['status']}, {step['seconds']:.2f}s]"):
            if step.get("message"):
                allure.attach(step["message"], name=step["status"], attachment_type=allure.attachment_type.TEXT)


def summary_entry(record: ItemRecord, outcome: str, seconds: float, message: str) -> tuple[ItemResult, dict[str, Any]]:
    """The item's line in ``summary.json``, and what it adds to its cell (findings, hop, timings...)."""
    result = ItemResult(
        record.nodeid,
        record.item.cell,
        record.item.group,
        record.item.step,
        outcome,
        round(seconds, 2),
        message,
        steps=list(record.steps or []),
    )
    if outcome == "failed":
        result.cause = record.cause or "harness-error"
    cell: dict[str, Any] = {
        "findings": [f.to_json() for f in record.findings or []],
        "timings": dict(record.timings or {}),
    }
    if record.hop is not None:
        cell["hop"] = hop_json(record.hop)
    for key in ("repro", "artifacts", "kubeconfig"):
        if getattr(record, key):
            cell[key] = getattr(record, key)
    return result, cell
