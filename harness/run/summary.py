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

SUMMARY_NAME = "summary.json"
SCHEMA_VERSION = 1


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
        return finalise(self.matrix, list(cells.values()), self.started, time.time())

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / SUMMARY_NAME
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=False, default=str))
        return path


def finalise(matrix: str, cells: list[dict[str, Any]], started: float, finished: float) -> dict[str, Any]:
    """Verdicts and counts from cells; shared by a run and by ``report merge`` so both agree."""
    items = [item for cell in cells for item in cell["items"]]
    for cell in cells:
        failed = any(i["outcome"] == "failed" for i in cell["items"])
        breaking = any(f["severity"] == "breaking" for f in cell.get("findings", []))
        skipped = bool(cell["items"]) and all(i["outcome"] == "skipped" for i in cell["items"])
        cell["verdict"] = "failed" if failed or breaking else ("skipped" if skipped else "passed")
    attach_related(cells)
    findings = [f | {"cell": c["id"]} for c in cells for f in c.get("findings", [])]
    verdicts = [c["verdict"] for c in cells]
    return {
        "schema": SCHEMA_VERSION,
        "matrix": matrix,
        "started": started,
        "finished": finished,
        "verdict": "failed" if "failed" in verdicts else ("passed" if "passed" in verdicts else "empty"),
        "counts": {
            "cells": len(cells),
            "items": len(items),
            "passed": sum(i["outcome"] == "passed" for i in items),
            "failed": sum(i["outcome"] == "failed" for i in items),
            "skipped": sum(i["outcome"] == "skipped" for i in items),
            "breaking": sum(f["severity"] == "breaking" for f in findings),
            "warning": sum(f["severity"] == "warning" for f in findings),
        },
        "cells": cells,
        "findings": findings,
    }
