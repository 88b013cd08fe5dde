"""The gate's verdict: one screen for the terminal and the same in Markdown for a change ticket.

Breaking findings come first, each with where it happened, which manifest is affected and the
fix when one is known (the replacement API version); then failed steps; then warnings.
"""

from __future__ import annotations

from typing import Any


def _fix(finding: dict[str, Any]) -> str:
    evidence = finding.get("evidence", {})
    if evidence.get("replacement"):
        return f"move manifests to {evidence['replacement']}"
    if finding["kind"] == "dry-run-rejected":
        return "change the manifest so the target version accepts it"
    if finding["kind"] == "rbac-change":
        return "restore the grant in the platform's Role, or accept it in the allow-list with a reason"
    if finding["kind"] == "admission-change":
        return "compare the platform's admission policy (PodSecurity levels, webhooks, policies) at both versions"
    if finding["kind"] == "api-warning":
        return "change the manifest as the server's warning says, before the release it names"
    if finding["kind"] == "disruption":
        return "investigate the component logs in artifacts/ for the outage window"
    return ""


def _manifests(finding: dict[str, Any]) -> list[str]:
    evidence = finding.get("evidence", {})
    found = list(evidence.get("manifests", []))
    if evidence.get("manifest"):
        found.append(evidence["manifest"])
    return found


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
            for manifest in _manifests(f):
                lines.append(f"    - manifest: {manifest}" if markdown else f"      manifest: {manifest}")
            fix = _fix(f)
            if fix:
                lines.append(f"    - fix: {fix}" if markdown else f"      fix: {fix}")
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
        lines.append("### Warnings" if markdown else f"WARNINGS ({len(warnings)}):")
        for f in warnings[:15]:
            lines.append(f"{bullet}[{f['kind']}] {f['subject']}: {f['detail']}")
        if len(warnings) > 15:
            lines.append(f"{bullet}... and {len(warnings) - 15} more in summary.json")
        lines.append("")
    if verdict == "PASS" and not warnings:
        lines.append("Nothing broke: every scenario verified before and after each hop, no detector fired.")
    counts = summary.get("counts", {})
    lines.append(
        f"{counts.get('passed', 0)} steps passed, {counts.get('failed', 0)} failed, {counts.get('skipped', 0)} skipped"
    )
    return "\n".join(lines) + "\n"
