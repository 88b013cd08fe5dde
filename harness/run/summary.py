"""``summary.json``: the machine-readable result of a run, and the source of every report.

Built on the controlling pytest process from the item reports (which pytest-xdist forwards
from its workers), so it is complete however the cells were spread. Each report carries its
item's record (``harness.run.records``); ``harness.report.serialise.summary_entry`` turns it
into the ``ItemResult`` and cell data added here.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.releasenotes.relate import attach_related
from harness.run.blame import cell_verdict, harness_errors, item_blame, run_verdict

SUMMARY_NAME = "summary.json"
#: 2: the ``error`` verdict, ``blame`` on failed items, ``errors`` and ``counts.errors`` (schema 1
#: summaries are still read: ``finalise`` classifies their items from their causes).
SCHEMA_VERSION = 2


@dataclass
class ItemResult:
    nodeid: str
    cell: str
    scenario: str
    phase: str
    outcome: str  # passed, failed, skipped
    seconds: float
    message: str = ""
    cause: str = ""  # for failures: see harness.run.causes
    #: A scenario phase's steps (``StepResult.to_json``): what ran, and why the others did not.
    steps: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Summary:
    matrix: str
    started: float = field(default_factory=time.time)
    items: list[ItemResult] = field(default_factory=list)
    cell_data: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: What the matrix's workload inputs held and what was not read (``WorkloadSet.to_json``).
    workload_inputs: dict[str, Any] | None = None

    def add(self, item: ItemResult, cell: dict[str, Any]) -> None:
        """Add an item, and what it tells about its cell (findings, hop, timings, repro...)."""
        self.items.append(item)
        data = self.cell_data.setdefault(item.cell, {"findings": [], "hops": [], "timings": {}, "repro": ""})
        data["findings"].extend(cell.get("findings", []))
        if "hop" in cell:
            data["hops"].append(cell["hop"])
        data["timings"].update(cell.get("timings", {}))
        for key in ("repro", "artifacts", "kubeconfig"):
            if cell.get(key):
                data[key] = cell[key]

    def to_json(self) -> dict[str, Any]:
        cells: dict[str, dict[str, Any]] = {}
        for item in self.items:
            cell = cells.setdefault(item.cell, {"id": item.cell, "verdict": "passed", "scenarios": {}, "items": []})
            cell["items"].append(vars(item))
            if item.scenario not in ("cluster", "upgrade", "detectors"):
                cell["scenarios"].setdefault(item.scenario, {})[item.phase] = item.outcome
        for cell_id, cell in cells.items():
            data = self.cell_data.get(cell_id, {})
            cell.update({k: v for k, v in data.items() if k != "findings"})
            cell["findings"] = data.get("findings", [])
        out = finalise(self.matrix, list(cells.values()), self.started, time.time())
        if self.workload_inputs is not None:
            out["workload_inputs"] = self.workload_inputs
        return out

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / SUMMARY_NAME
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=False, default=str))
        return path


def finalise(matrix: str, cells: list[dict[str, Any]], started: float, finished: float) -> dict[str, Any]:
    """Verdicts and counts from cells; shared by a run and by ``report merge`` so both agree.

    A cell's verdict is ``error`` when the harness failed in it, ``failed`` when the platform
    did (``harness.run.blame``); ``errors`` lists each step the harness failed at and why.
    Items of summaries written before ``blame`` existed get it here, from their cause.
    """
    items = [item for cell in cells for item in cell["items"]]
    for item in items:
        whose = item_blame(item)
        if whose is not None:
            item["blame"] = whose
    for cell in cells:
        cell["verdict"] = cell_verdict(cell["items"], cell.get("findings", []))
        cell["errors"] = harness_errors([cell])
    attach_related(cells)
    findings = [f | {"cell": c["id"]} for c in cells for f in c.get("findings", [])]
    errors = [error for cell in cells for error in cell["errors"]]
    return {
        "schema": SCHEMA_VERSION,
        "matrix": matrix,
        "started": started,
        "finished": finished,
        "verdict": run_verdict(c["verdict"] for c in cells),
        "counts": {
            "cells": len(cells),
            "items": len(items),
            "passed": sum(i["outcome"] == "passed" for i in items),
            "failed": sum(i["outcome"] == "failed" for i in items),
            "skipped": sum(i["outcome"] == "skipped" for i in items),
            "errors": len(errors),
            "breaking": sum(f["severity"] == "breaking" for f in findings),
            "warning": sum(f["severity"] == "warning" for f in findings),
        },
        "cells": cells,
        "findings": findings,
        "errors": errors,
    }
