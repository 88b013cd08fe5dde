"""What the report keeps of one test item, as typed records.

An item fills its ``ItemRecord`` while it runs; ``harness.report.serialise`` turns records into
``summary.json`` entries, JUnit properties, Allure steps, and the plain data that crosses
pytest-xdist's wire from a worker to the controlling process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.findings import Finding
from harness.run.identity import ItemId


@dataclass(frozen=True)
class HopReport:
    """One hop as the report shows it."""

    label: str
    seconds: float
    #: ``PlaybookEvent`` fields of each ansible task: task, status, seconds, message.
    playbook: list[dict[str, Any]]
    #: ``Timeline.to_json`` of every probe that ran during the hop.
    timelines: list[dict[str, Any]]
    faults: list[str]
    #: ``harness.releasenotes.hop.hop_notes``: the crossed releases' notes that concern the tenants.
    release_notes: dict[str, Any] | None = None


@dataclass
class ItemRecord:
    """What one item contributes to the report; ``None`` where the item has nothing to say."""

    item: ItemId
    #: The node id as collected (before pytest-xdist's ``@<group>`` suffix).
    nodeid: str
    #: For a failure: see ``harness.run.causes``.
    cause: str | None = None
    #: The cell's timings so far (cluster and upgrade items carry them).
    timings: dict[str, float] | None = None
    hop: HopReport | None = None
    #: A detector item's findings.
    findings: list[Finding] | None = None
    #: A scenario phase's steps (``StepResult.to_json``): what ran, and why the others did not.
    steps: list[dict[str, Any]] | None = None
    #: The KUBECONFIG line of a kept cluster.
    kubeconfig: str | None = None
    #: For a failed item: where the cell's artifacts went, and the command that reruns the cell.
    artifacts: str | None = None
    repro: str | None = None
