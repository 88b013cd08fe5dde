"""Where the harness's own services (``harness.scenarios.services``) keep keys and certificates,
and which of those directories outlived the process that made them.

Each directory is named ``<pid>-<random>`` for its owning process, under the state root. Kept
apart from the services themselves so ``gc``, which runs at the start of every pytest session,
reads them without importing the scenario engine and the Kubernetes client.

The Kubernetes client writes a kubeconfig's inline keys and certificates to files of its own
(``kube_config_files``): they live here too, rather than in the system's temp folder, so that a
process killed before its exit handlers ran leaves them where ``gc`` looks.
"""

from __future__ import annotations

import atexit
import os
import shutil
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


_registered_for_removal: set[Path] = set()


def kube_config_files() -> Path:
    """This process's folder (under the current state root) for the files the Kubernetes client
    extracts from kubeconfigs.

    Made on first use, mode 0700, and removed when the process exits; if it is killed instead,
    ``gc`` removes it with the other directories of gone owners.
    """
    pid = os.getpid()
    directory = services_root() / f"{pid}-kubeconfig-files"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory not in _registered_for_removal:
        _registered_for_removal.add(directory)
        atexit.register(_remove_if_owner, directory, pid)
    return directory


def _remove_if_owner(directory: Path, pid: int) -> None:
    if os.getpid() == pid:  # not in a forked child that inherited the handler
        shutil.rmtree(directory, ignore_errors=True)
