"""Host paths as the policy compares them: by segments, never resolving ``..``.

Whether ``/global/cfs/projects/alpha/../beta`` stays inside a root must not depend on who
normalises the string, and how: a path with a ``..`` segment is refused before any comparison.
"""

from __future__ import annotations


def has_traversal(path: str) -> bool:
    """True when any ``/``-separated segment is ``..``."""
    return ".." in path.split("/")


def collapse_path(path: str) -> str:
    """Collapse repeated ``/``, drop ``.`` segments and a trailing ``/``; keep ``..`` as is.

    Deliberately *not* ``posixpath.normpath``: that resolves ``..`` (which callers must reject
    first, see ``has_traversal``) and keeps a leading ``//``.
    """
    segments = [s for s in path.split("/") if s not in ("", ".")]
    prefix = "/" if path.startswith("/") else ""
    return prefix + "/".join(segments) if segments else prefix or "."


def is_within(path: str, root: str) -> bool:
    """Whether normalised absolute ``path`` is ``root`` or below it, segment by segment."""
    return path == root or path.startswith(root.rstrip("/") + "/")
