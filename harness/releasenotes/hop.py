"""A hop's release notes, as the cell records them: never an exception, always a status.

``hop_notes`` is what ``CellRun.hop`` calls. Whatever goes wrong (no module cache, no Go, a
changelog in an unknown format) becomes ``status: unavailable`` with the reason, so the verdict
can say "release notes unavailable: ..." instead of silently showing nothing; a hop whose
notes were read for some minors but not others is ``partial``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.releasenotes.locate import MODE_VARIABLE, Located, crossed, locate, mode
from harness.releasenotes.match import match_entries
from harness.releasenotes.terms import tenant_use
from harness.toolchain import goproxy
from harness.versions import KubeVersion

OK = "ok"
PARTIAL = "partial"
UNAVAILABLE = "unavailable"


def hop_notes(
    label: str,
    source: KubeVersion,
    target: KubeVersion,
    objects: Iterable[tuple[str, dict[str, Any]]],
    *,
    cache: Path | None = None,
) -> dict[str, Any]:
    """The release notes of the releases ``source`` -> ``target`` crosses that mention ``objects``.

    ``objects`` are ``(label, body)`` pairs: the tenants' manifests. The result is plain data for
    ``summary.json`` (``status``, ``reason``, ``changelogs``, ``considered``, ``notes``);
    ``cache`` is the Go module cache (``goproxy.module_cache()`` when not given).
    """
    result: dict[str, Any] = {"hop": label, "status": OK, "reason": "", "changelogs": [], "considered": 0, "notes": []}
    plans = crossed(source, target)
    if not plans:
        return result
    try:
        chosen = mode()
    except HarnessError as exc:
        return result | {"status": UNAVAILABLE, "reason": str(exc)}
    if chosen == "off":
        return result | {"status": UNAVAILABLE, "reason": f"turned off ({MODE_VARIABLE}=off)"}
    where = cache or goproxy.module_cache()
    located: list[Located] = []
    problems: list[str] = []
    for plan in plans:
        try:
            located.append(locate(plan, where, download=chosen == "download"))
        except (HarnessError, OSError, subprocess.SubprocessError) as exc:
            problems.append(f"1.{plan.minor}: {exc}")
    entries = [(f"1.{found.plan.minor}", entry) for found in located for entry in found.entries()]
    use = tenant_use(objects)
    result["changelogs"] = [found.to_json() for found in located]
    result["considered"] = len(entries)
    result["notes"] = [note.to_json() for note in match_entries(entries, use)]
    if problems:
        result["status"] = PARTIAL if located else UNAVAILABLE
        result["reason"] = "; ".join(problems)
    return result


def unavailable(label: str, reason: str) -> dict[str, Any]:
    """The record of a hop whose notes could not be read at all."""
    return {"hop": label, "status": UNAVAILABLE, "reason": reason, "changelogs": [], "considered": 0, "notes": []}


def unavailable_line(notes: dict[str, Any]) -> str:
    """The one line a report shows for a hop whose notes could not (all) be read."""
    what = "release notes unavailable" if notes.get("status") == UNAVAILABLE else "some release notes unavailable"
    return f"{what} for {notes.get('hop', 'the hop')}: {notes.get('reason', '')}"
