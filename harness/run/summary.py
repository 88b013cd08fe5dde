"""``summary.json``: the machine-readable result of a run, and the source of every report.

Built on the controlling pytest process from the item reports (which pytest-xdist forwards
from its workers), so it is complete however the cells were spread. Findings, hop timings and
probe timelines travel on the reports' ``user_properties``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


@dataclass
class Summary:
    matrix: str
    started: float = field(default_factory=time.time)
    items: list[ItemResult] = field(default_factory=list)
    cell_data: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, item: ItemResult, properties: dict[str, Any]) -> None:
        self.items.append(item)
        data = self.cell_data.setdefault(item.cell, {"findings": [], "hops": [], "timings": {}, "repro": ""})
        data["findings"].extend(properties.get("findings", []))
        if "hop" in properties:
            data["hops"].append(properties["hop"])
        data["timings"].update(properties.get("timings", {}))
        if properties.get("repro"):
            data["repro"] = properties["repro"]
        if properties.get("artifacts"):
            data["artifacts"] = properties["artifacts"]
        if properties.get("kubeconfig"):
            data["kubeconfig"] = properties["kubeconfig"]

    def to_json(self) -> dict[str, Any]:
        cells: dict[str, dict[str, Any]] = {}
        for item in self.items:
            cell = cells.setdefault(item.cell, {"id": item.cell, "verdict": "passed", "scenarios": {}, "items": []})
            cell["items"].append(vars(item))
            if item.outcome == "failed":
                cell["verdict"] = "failed"
            if item.scenario not in ("cluster", "upgrade", "detectors"):
                phases = cell["scenarios"].setdefault(item.scenario, {})
                phases[item.phase] = item.outcome
        for cell_id, cell in cells.items():
            data = self.cell_data.get(cell_id, {})
            cell.update({k: v for k, v in data.items() if k != "findings"})
            cell["findings"] = data.get("findings", [])
            if any(f["severity"] == "breaking" for f in cell["findings"]):
                cell["verdict"] = "failed"
        verdicts = [c["verdict"] for c in cells.values()]
        findings = [f | {"cell": cid} for cid, c in cells.items() for f in c["findings"]]
        return {
            "schema": SCHEMA_VERSION,
            "matrix": self.matrix,
            "started": self.started,
            "finished": time.time(),
            "verdict": "failed" if "failed" in verdicts else ("passed" if verdicts else "empty"),
            "counts": {
                "cells": len(cells),
                "items": len(self.items),
                "passed": sum(i.outcome == "passed" for i in self.items),
                "failed": sum(i.outcome == "failed" for i in self.items),
                "skipped": sum(i.outcome == "skipped" for i in self.items),
                "breaking": sum(f["severity"] == "breaking" for f in findings),
                "warning": sum(f["severity"] == "warning" for f in findings),
            },
            "cells": list(cells.values()),
            "findings": findings,
        }

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / SUMMARY_NAME
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=False, default=str))
        return path
