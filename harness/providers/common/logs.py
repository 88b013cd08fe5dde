"""Excerpts of component logs, for error messages and cell reports."""

from __future__ import annotations

from pathlib import Path


def log_tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of ``path``, indented; a note instead when it cannot be read."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(f"  | {line}" for line in text[-lines:])
