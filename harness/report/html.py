"""``index.html``: the page a person scans in ten seconds, built from ``summary.json`` alone.

Self-contained on purpose (inline CSS and SVG, no scripts, no fonts, no network): it is
opened from CI artifacts, mailed, and attached to change tickets.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.report.release_notes import html_data
from harness.report.svg import timeline_svg
from harness.run.blame import HARNESS, item_blame

GROUP_ORDER = ("cluster", "upgrade", "detectors")

#: Which outcome a grid cell shows when a column has several items: the worst.
_RANK = {"error": 3, "failed": 2, "passed": 1, "skipped": 0}


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, sort_keys=True, default=str)
    return env


def _grid(summary: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns (scenarios, then harness groups) and one row per cell with a verdict per column."""
    scenarios = sorted({item["scenario"] for cell in summary["cells"] for item in cell["items"]} - set(GROUP_ORDER))
    columns = [*scenarios, *GROUP_ORDER]
    rows = []
    for cell in summary["cells"]:
        verdicts: dict[str, str] = {}
        details: dict[str, list[str]] = defaultdict(list)
        for item in cell["items"]:
            column = item["scenario"]
            outcome = "error" if item_blame(item) == HARNESS else item["outcome"]
            current = verdicts.get(column)
            if current is None or _RANK.get(outcome, 0) > _RANK.get(current, 0):
                verdicts[column] = outcome
            steps = item.get("steps") or []
            skipped = sum(step["status"] == "skipped" for step in steps)
            counted = f" ({len(steps)} steps, {skipped} skipped)" if steps else ""
            details[column].append(f"{item['phase']}: {item['outcome']}{counted}")
        rows.append({"cell": cell, "verdicts": verdicts, "details": details})
    return columns, rows


def _findings_by_kind(summary: dict[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for finding in summary.get("findings", []):
        grouped[finding["kind"]][finding["hop"]].append(finding)
    return {kind: dict(hops) for kind, hops in sorted(grouped.items())}


def render_html(summary: dict[str, Any], report_dir: Path) -> str:
    columns, rows = _grid(summary)
    hops = []
    for cell in summary["cells"]:
        for hop in cell.get("hops", []):
            hops.append({"cell": cell["id"], "hop": hop, "svg": timeline_svg(hop.get("timelines", []), hop["seconds"])})
    failed_items = [i | {"blame": item_blame(i)} for c in summary["cells"] for i in c["items"] if item_blame(i)]
    skipped_steps = [
        {"cell": c["id"], "scenario": i["scenario"], "phase": i["phase"], **step}
        for c in summary["cells"]
        for i in c["items"]
        for step in i.get("steps") or []
        if step["status"] == "skipped"
    ]
    return (
        _environment()
        .get_template("index.html.j2")
        .render(
            summary=summary,
            columns=columns,
            rows=rows,
            findings=_findings_by_kind(summary),
            hops=hops,
            failed_items=failed_items,
            skipped_steps=skipped_steps,
            release_notes=html_data(summary),
            steps_recorded=any(i.get("steps") for c in summary["cells"] for i in c["items"]),
            artifacts_exist=lambda path: bool(path) and Path(path).exists(),
            relative=lambda path: _relative(path, report_dir),
        )
    )


def _relative(path: str, report_dir: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(report_dir.resolve()))
    except ValueError:
        return str(path)


def write_html(report_dir: Path) -> Path:
    summary = json.loads((report_dir / "summary.json").read_text())
    target = report_dir / "index.html"
    target.write_text(render_html(summary, report_dir))
    return target
