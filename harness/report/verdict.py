"""The gate's verdict: one screen for the terminal and the same in Markdown for a change ticket.

Breaking findings come first, each with where it happened, which tenant object and manifest are
affected and the fix when one is known (the replacement API version); then failed steps; then
warnings, grouped by what a person must do about them (``harness.report.actions``).
"""

from __future__ import annotations

from typing import Any

from harness.report.actions import action, action_order, fix, manifests, tenant_objects


def render_verdict(summary: dict[str, Any], *, markdown: bool = False) -> str:
    findings = summary.get("findings", [])
    breaking = [f for f in findings if f["severity"] == "breaking"]
    warnings = [f for f in findings if f["severity"] == "warning"]
    failed = [i for c in summary.get("cells", []) for i in c["items"] if i["outcome"] == "failed"]
    verdict = "PASS" if summary.get("verdict") == "passed" else "FAIL"
    cells = ", ".join(c["id"] for c in summary.get("cells", []))
    lines: list[str] = []
    bullet = "- " if markdown else "  "
    if markdown:
        lines += [f"## Upgrade gate: **{verdict}**", "", f"Path: `{cells}`", ""]
    else:
        lines += [f"spin-harness gate: {verdict}   ({cells})", ""]
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
            step = item["nodeid"].split("::", 1)[1]
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
    if verdict == "PASS" and not warnings:
        lines.append("Nothing broke: every scenario verified before and after each hop, no detector fired.")
    counts = summary.get("counts", {})
    lines.append(
        f"{counts.get('passed', 0)} steps passed, {counts.get('failed', 0)} failed, {counts.get('skipped', 0)} skipped"
    )
    return "\n".join(lines) + "\n"
