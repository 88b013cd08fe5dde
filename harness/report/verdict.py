"""The gate's verdict: one screen for the terminal and the same in Markdown for a change ticket.

``PASS``, ``FAIL`` (the platform broke: exit 1) or ``ERROR`` (the harness did: exit 2; see
``harness.run.blame``). An ``ERROR`` names each cell and step the harness failed at, and why,
before anything else: a reader must not take an unfinished run for a verdict on the upgrade.
Then breaking findings (also those found before the error), each with where it happened, which
tenant object and manifest are affected and the fix when one is known (the replacement API
version); then the steps where a tenant promise broke; then warnings, grouped by what a person
must do about them (``harness.report.actions``); then the release notes that explain findings
(information only: they never change the verdict).
"""

from __future__ import annotations

from typing import Any

from harness.report.actions import action, action_order, fix, manifests, tenant_objects
from harness.report.release_notes import verdict_lines
from harness.run.blame import PLATFORM, harness_errors, item_blame

#: The word for each run verdict; ``empty`` (every cell skipped) is the harness's failure too.
WORDS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "empty": "ERROR"}


def _not_read(inputs: dict[str, Any], bullet: str, markdown: bool) -> list[str]:
    """Workload input the harness did not read: the verdict covers only what it read."""
    ignored, hidden = inputs.get("ignored", []), inputs.get("hidden", 0)
    if not ignored and not hidden:
        return []
    lines = ["### Input not read" if markdown else "INPUT NOT READ:"]
    for path in ignored[:15]:
        lines.append(f"{bullet}{path} (not .yaml/.yml/.json)")
    if len(ignored) > 15:
        lines.append(f"{bullet}... and {len(ignored) - 15} more in summary.json")
    if hidden:
        lines.append(f"{bullet}{hidden} hidden file(s)/folder(s) skipped (.git and the like)")
    return [*lines, ""]


def render_verdict(summary: dict[str, Any], *, markdown: bool = False) -> str:
    findings = summary.get("findings", [])
    breaking = [f for f in findings if f["severity"] == "breaking"]
    warnings = [f for f in findings if f["severity"] == "warning"]
    failed = [i for c in summary.get("cells", []) for i in c["items"] if item_blame(i) == PLATFORM]
    verdict = WORDS.get(str(summary.get("verdict")), "ERROR")
    cells = ", ".join(c["id"] for c in summary.get("cells", []))
    lines: list[str] = []
    bullet = "- " if markdown else "  "
    if markdown:
        lines += [f"## Upgrade gate: **{verdict}**", "", f"Path: `{cells}`", ""]
    else:
        lines += [f"spin-harness gate: {verdict}   ({cells})", ""]
    if verdict == "ERROR":
        lines += _errors(summary, markdown=markdown, bullet=bullet, breaking=bool(breaking))
    if breaking:
        lines.append("### Breaking changes" if markdown else f"BREAKING ({len(breaking)}):")
        for f in breaking:
            where = f"[{f['kind']}] {f['hop']} {f['subject']}"
            lines.append(f"{bullet}{'`' + where + '`' if markdown else where}: {f['detail']}")
            for obj in tenant_objects(f):
                lines.append(f"    - tenant object: {obj}" if markdown else f"      tenant object: {obj}")
            for manifest in manifests(f):
                lines.append(f"    - manifest: {manifest}" if markdown else f"      manifest: {manifest}")
            how = fix(f)
            if how:
                lines.append(f"    - fix: {how}" if markdown else f"      fix: {how}")
        lines.append("")
    other_failures = [i for i in failed if i.get("scenario") != "detectors"]
    if other_failures:
        lines.append("### Failed steps" if markdown else f"FAILED STEPS ({len(other_failures)}):")
        for item in other_failures:
            step = item["nodeid"].split("::", 1)[-1]
            first = (item.get("message") or "").strip().splitlines()
            reason = first[-1][:200] if first else ""
            lines.append(f"{bullet}`{step}`: {reason}" if markdown else f"{bullet}{step}: {reason}")
        lines.append("")
    if warnings:
        lines.append("### Warnings" if markdown else f"WARNINGS ({len(warnings)}), by what to do:")
        shown = 0
        for todo in action_order():
            group = [f for f in warnings if action(f) == todo]
            if not group:
                continue
            lines.append(f"{bullet}**{todo}** ({len(group)})" if markdown else f"{bullet}{todo} ({len(group)}):")
            for f in group[: max(0, 15 - shown)]:
                lines.append(f"    - [{f['kind']}] {f['subject']}: {f['detail']}")
            shown += len(group)
        if len(warnings) > 15:
            lines.append(f"{bullet}... {len(warnings) - 15} not listed here; every one is in summary.json")
        lines.append("")
    lines += _not_read(summary.get("workload_inputs") or {}, bullet, markdown)
    lines += verdict_lines(summary, markdown=markdown)
    if verdict == "PASS" and not warnings:
        lines.append("Nothing broke: every scenario verified before and after each hop, no detector fired.")
    counts = summary.get("counts", {})
    errored = f" ({counts['errors']} of them harness errors)" if counts.get("errors") else ""
    lines.append(
        f"{counts.get('passed', 0)} steps passed, {counts.get('failed', 0)} failed{errored}, "
        f"{counts.get('skipped', 0)} skipped"
    )
    return "\n".join(lines) + "\n"


def _errors(summary: dict[str, Any], *, markdown: bool, bullet: str, breaking: bool) -> list[str]:
    """The lines that say the harness, not the platform, failed: which cell, which step, why."""
    errors = summary.get("errors")
    if errors is None:  # a summary written before errors were listed
        errors = harness_errors(summary.get("cells", []))
    found = " The breaking changes below were found before it failed and stand." if breaking else ""
    lines = [
        "### Harness errors" if markdown else f"HARNESS ERROR ({len(errors)}):",
        "The harness failed, not the platform: what it could not run was not tested, so this is no "
        f"verdict on the upgrade yet. Fix the cause and run the gate again.{found}",
    ]
    if not errors:
        lines.append(f"{bullet}no cell ran: every one was skipped (see the report for why)")
    for error in errors:
        where = f"{error['cell']} {error['step']}"
        lines.append(
            f"{bullet}`{where}` [{error['cause']}]: {error['reason']}"
            if markdown
            else f"{bullet}{where} [{error['cause']}]: {error['reason']}"
        )
    return [*lines, ""]
