"""``spin-harness report merge``: one report from the report directories of many jobs.

Per-cell jobs (one CI job per matrix cell) each write a complete report directory; merging
concatenates their cells, items and findings (a cell seen twice keeps its last run),
recomputes the verdict and counts exactly as a single run would, joins the JUnit suites,
copies Allure results and artifacts, and renders ``index.html`` again.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.errors import InputError
from harness.report.allure_html import write_allure_html
from harness.report.html import write_html
from harness.run.summary import SUMMARY_NAME, finalise


def merge_reports(sources: list[Path], out: Path) -> Path:
    summaries = []
    for source in sources:
        path = source / SUMMARY_NAME
        if not path.is_file():
            raise InputError(
                f"{source}: no {SUMMARY_NAME}", hint="give report directories written by 'spin-harness run'"
            )
        try:
            summaries.append(json.loads(path.read_text()))
        except ValueError as exc:
            raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not summaries:
        raise InputError("report merge: no report directories given")
    out.mkdir(parents=True, exist_ok=True)
    cells: dict[str, dict[str, Any]] = {}
    for summary in summaries:
        for cell in summary.get("cells", []):
            cells[cell["id"]] = cell
    matrices = sorted({s.get("matrix", "") for s in summaries})
    merged = finalise(
        matrix=matrices[0] if len(matrices) == 1 else ", ".join(matrices),
        cells=list(cells.values()),
        started=min(s.get("started", 0) for s in summaries),
        finished=max(s.get("finished", 0) for s in summaries),
    )
    inputs = [s["workload_inputs"] for s in summaries if s.get("workload_inputs")]
    if inputs:  # every job of one matrix reads the same inputs: the first job's account stands
        merged["workload_inputs"] = inputs[0]
    (out / SUMMARY_NAME).write_text(json.dumps(merged, indent=2, default=str))
    _merge_junit([s / "junit.xml" for s in sources], out / "junit.xml")
    for source in sources:
        for sub in ("allure-results", "artifacts"):
            if (source / sub).is_dir():
                shutil.copytree(source / sub, out / sub, dirs_exist_ok=True)
    write_html(out)
    write_allure_html(out)
    return out


def _merge_junit(files: list[Path], target: Path) -> None:
    root = ET.Element("testsuites")
    for path in files:
        if not path.is_file():
            continue
        tree = ET.parse(path)
        top = tree.getroot()
        suites = [top] if top.tag == "testsuite" else list(top.iter("testsuite"))
        root.extend(suites)
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, 0)) for s in root)))
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
