"""``index.html``: the page a person scans in ten seconds, built from ``summary.json`` alone.

It reads top-down in the order of ``harness.report.sections``: verdict and breaking findings,
warnings by action, the grid, the disruption timelines, then what did not run (collapsed).

Self-contained on purpose (inline CSS and SVG, no scripts, no fonts, no network): it is
opened from CI artifacts, mailed, and attached to change tickets.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.report import sections
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
    env.filters["status"] = sections.status_class
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


def render_html(summary: dict[str, Any], report_dir: Path) -> str:
    columns, rows = _grid(summary)
    hops = []
    for cell in summary["cells"]:
        for hop in cell.get("hops", []):
            hops.append({"cell": cell["id"], "hop": hop, "svg": timeline_svg(hop.get("timelines", []), hop["seconds"])})
    failed_items = [i | {"blame": item_blame(i)} for c in summary["cells"] for i in c["items"] if item_blame(i)]
    not_run = sections.skipped_by_reason(summary)
    return (
        _environment()
        .get_template("index.html.j2")
        .render(
            summary=summary,
            headline=sections.headline(summary),
            breaking=sections.by_severity(summary, "breaking"),
            warning_groups=sections.warning_groups(summary),
            info=sections.by_severity(summary, "info"),
            columns=columns,
            rows=rows,
            hops=hops,
            failed_items=failed_items,
            release_notes=html_data(summary),
            not_run=not_run,
            not_run_count=sum(len(group["steps"]) for group in not_run),
            steps_recorded=any(i.get("steps") for c in summary["cells"] for i in c["items"]),
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
