"""Where the harness's own services (``harness.scenarios.services``) keep keys and certificates,
and which of those directories outlived the process that made them.

Each directory is named ``<pid>-<random>`` for its owning process, under the state root. Kept
apart from the services themselves so ``gc``, which runs at the start of every pytest session,
reads them without importing the scenario engine and the Kubernetes client.
"""

from __future__ import annotations

from pathlib import Path

import psutil

from harness.paths import state_root


def services_root() -> Path:
    return state_root() / "services"


def _owner_pid(directory: Path) -> int | None:
    head = directory.name.split("-", 1)[0]
    return int(head) if head.isdigit() else None


def orphaned_service_dirs() -> list[Path]:
    """Service directories whose owning process is gone (what ``gc`` removes)."""
    root = services_root()
    if not root.is_dir():
        return []
    return [d for d in sorted(root.iterdir()) if d.is_dir() and not psutil.pid_exists(_owner_pid(d) or -1)]
