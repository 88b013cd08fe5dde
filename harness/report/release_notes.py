"""How the reports show release notes: the verdict's lines, and the HTML report's data.

The verdict lists the notes that explain a finding and counts the others (they are in the HTML
report and ``summary.json``); a hop whose changelogs could not be read says so, so "no notes"
never hides "no changelog". Nothing here changes a verdict.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.releasenotes.hop import OK, unavailable_line
from harness.releasenotes.relate import hop_notes_of

_TEXT_WIDTH = 180


def headline(note: dict[str, Any]) -> str:
    """A note's first line, shortened: enough to recognise it in a terminal."""
    first = " ".join(str(note.get("text", "")).split("\n")[0].split())
    return first if len(first) <= _TEXT_WIDTH else first[: _TEXT_WIDTH - 1] + "…"


def _where(note: dict[str, Any]) -> str:
    number = f" #{note['pr_number']}" if note.get("pr_number") else ""
    return f"{note['release']} {note['section']}{number}"


def _releases(record: dict[str, Any]) -> str:
    names = [r for changelog in record.get("changelogs", []) for r in changelog.get("releases", [])]
    return ", ".join(names) or "no release"


def verdict_lines(summary: dict[str, Any], *, markdown: bool) -> list[str]:
    """The verdict's release-notes block (empty when no hop crossed a Kubernetes release)."""
    records = hop_notes_of(summary)
    if not records:
        return []
    notes = [note for record in records for note in record.get("notes", [])]
    related = [note for note in notes if note.get("related")]
    others = [note for note in notes if not note.get("related")]
    bullet = "- " if markdown else "  "
    lines = ["### Release notes (information)" if markdown else f"RELEASE NOTES (information, {len(notes)}):"]
    for record in records:
        if record.get("status") != OK:
            lines.append(f"{bullet}{unavailable_line(record)}")
    for note in related:
        where = f"`{_where(note)}`" if markdown else f"[{_where(note)}]"
        lines.append(f"{bullet}{where} {headline(note)}")
        for finding in note["related"]:
            explains = f"[{finding['kind']}] {finding['subject']}"
            lines.append(f"    - explains `{explains}`" if markdown else f"      explains {explains}")
        if note.get("pr"):
            lines.append(f"    - {note['pr']}" if markdown else f"      {note['pr']}")
    if others:
        by_section = Counter(str(note.get("section")) for note in others)
        sections = ", ".join(f"{count} {section}" for section, count in by_section.most_common())
        lines.append(
            f"{bullet}{len(others)} {'more ' if related else ''}note(s) mention what the tenants use "
            f"({sections}); see index.html or summary.json"
        )
    if not notes and all(record.get("status") == OK for record in records):
        considered = sum(int(record.get("considered", 0)) for record in records)
        crossed = "; ".join(_releases(record) for record in records)
        lines.append(f"{bullet}none of the {considered} upgrade notes of {crossed} mentions what the tenants use")
    return [*lines, ""]


def html_data(summary: dict[str, Any]) -> dict[str, Any]:
    """What the HTML report needs: each hop's record (with ``problem``, the unavailability line
    or ""), and each finding's explaining notes by (cell, hop, kind, subject)."""
    records = [r | {"problem": "" if r.get("status") == OK else unavailable_line(r)} for r in hop_notes_of(summary)]
    explaining: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for record in records:
        for note in record.get("notes", []):
            for finding in note.get("related", []):
                key = (record["cell"], record["hop"], finding["kind"], finding["subject"])
                explaining.setdefault(key, []).append(note)
    return {"records": records, "explaining": explaining}
