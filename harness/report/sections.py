"""The data behind each section of ``index.html``, in the order a reader needs it.

The page leads with the verdict and the breaking findings (what, which tenant object, which
manifest, the fix), then the warnings grouped by what a person must do, and only then the
grid, the timelines and the long tail: the steps that did not run, grouped by reason.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from harness.report.actions import action, action_order, fix, manifests, tenant_objects

#: Statuses the page has a style for; any other (a newer harness's) is shown as ``unknown``.
KNOWN_STATUSES = frozenset({"passed", "failed", "skipped", "empty", "error"})


def status_class(status: object) -> str:
    """The CSS class of a verdict or outcome: itself when the page knows it, else ``unknown``."""
    return str(status) if status in KNOWN_STATUSES else "unknown"


def headline(summary: dict[str, Any]) -> str:
    """One sentence that says what the verdict means for the upgrade."""
    verdict = summary.get("verdict")
    counts = summary.get("counts", {})
    cells = counts.get("cells", len(summary.get("cells", [])))
    severities = [f.get("severity") for f in summary.get("findings", [])]
    breaking, warning = severities.count("breaking"), severities.count("warning")
    if verdict == "passed":
        tail = f"; {warning} warning(s) to review below" if warning else ", and no detector warned"
        return f"The upgrade path holds: every scenario verified before and after each hop in {cells} cell(s){tail}."
    if verdict == "failed":
        failed_cells = sum(c.get("verdict") == "failed" for c in summary.get("cells", []))
        return (
            f"The upgrade breaks something: {breaking} breaking finding(s) and {counts.get('failed', 0)} "
            f"failed step(s) in {failed_cells} of {cells} cell(s)."
        )
    if verdict == "empty":
        return "Nothing ran: every cell was skipped, so this run says nothing about the upgrade."
    if verdict == "error":
        return "The harness itself failed: this run says nothing about the upgrade; see the failed steps below."
    return f"Verdict {verdict!r} is not one this report knows; read summary.json."


def _row(finding: dict[str, Any]) -> dict[str, Any]:
    return finding | {
        "action": action(finding),
        "fix": fix(finding),
        "manifests": manifests(finding),
        "tenant_objects": tenant_objects(finding),
    }


def _order(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(findings, key=lambda f: (f.get("kind", ""), f.get("hop", ""), f.get("subject", "")))


def by_severity(summary: dict[str, Any], severity: str) -> list[dict[str, Any]]:
    """The findings of one severity, each with its action, fix, manifests and tenant objects."""
    return [_row(f) for f in _order(summary.get("findings", [])) if f.get("severity") == severity]


def warning_groups(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Warnings grouped by the action they ask for, in ``action_order``; empty groups left out."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in by_severity(summary, "warning"):
        grouped[row["action"]].append(row)
    return [{"action": todo, "findings": grouped[todo]} for todo in action_order() if grouped.get(todo)]


def skipped_by_reason(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps that did not run, one group per reason, the largest group first."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cell in summary["cells"]:
        for item in cell["items"]:
            for step in item.get("steps") or []:
                if step.get("status") == "skipped":
                    reason = str(step.get("message") or "no reason recorded")
                    grouped[reason].append(
                        {"cell": cell["id"], "scenario": item["scenario"], "phase": item["phase"], **step}
                    )
    ordered = sorted(grouped.items(), key=lambda pair: (-len(pair[1]), pair[0]))
    return [{"reason": reason, "steps": steps} for reason, steps in ordered]
