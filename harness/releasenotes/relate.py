"""Which findings a hop's release notes explain, read from ``summary.json`` data alone.

A note relates to a finding of the same cell and hop when one of the note's matched terms
appears in the finding's subject or detail: the kind (or its plural resource name, as in
``batch/v1 cronjobs``), the API version or group, the field (a path's last name), the volume
type, the annotation key. The everyday kinds (``Pod``, ``Service``...) are left out: every
admission probe is a pod. Pure, so ``summary.finalise`` can run it for a run and for
``report merge`` alike.
"""

from __future__ import annotations

import re
from typing import Any

from harness.releasenotes.terms import FIELD_PATH, GENERIC_KINDS, KIND

#: The hop record key that carries a hop's notes (``cells[].hops[].release_notes``).
KEY = "release_notes"


def _needle(term: dict[str, Any]) -> re.Pattern[str] | None:
    text, kind = str(term.get("term", "")), term.get("type")
    if not text or (kind == KIND and text in GENERIC_KINDS):
        return None
    if kind == FIELD_PATH:
        text = text.rsplit(".", 1)[-1]
    plural = "(?:e?s)?" if kind == KIND else ""
    return re.compile(rf"(?<![\w-]){re.escape(text)}{plural}(?![\w-])", re.I)


def relates(note: dict[str, Any], finding: dict[str, Any]) -> bool:
    """Whether ``note`` (a ``Note.to_json``) names something ``finding`` is about."""
    haystack = f"{finding.get('subject', '')}\n{finding.get('detail', '')}"
    for term in note.get("terms", []):
        needle = _needle(term)
        if needle is not None and needle.search(haystack):
            return True
    return False


def attach_related(cells: list[dict[str, Any]]) -> None:
    """Give every note of every hop its ``related`` findings (kind, subject, severity)."""
    for cell in cells:
        findings = cell.get("findings", [])
        for hop in cell.get("hops", []):
            notes = hop.get(KEY)
            if not isinstance(notes, dict):
                continue
            same_hop = [f for f in findings if f.get("hop") == hop.get("label")]
            for note in notes.get("notes", []):
                note["related"] = [
                    {"kind": f["kind"], "subject": f["subject"], "severity": f["severity"]}
                    for f in same_hop
                    if relates(note, f)
                ]


def hop_notes_of(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Every hop's notes record in ``summary``, each with its ``cell``."""
    return [
        hop[KEY] | {"cell": cell["id"]}
        for cell in summary.get("cells", [])
        for hop in cell.get("hops", [])
        if isinstance(hop.get(KEY), dict)
    ]
