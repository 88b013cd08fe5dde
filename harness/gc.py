"""Garbage collection of clusters nobody will use again.

A cluster is garbage when the process that owns it is gone (a killed test run or worker), when
it was kept but none of its components run any more (a reboot), or when its state cannot be
read. Stray component processes whose cluster directory no longer exists are stopped too.
Collection is what ``spin-harness gc`` runs, and what the pytest plugin runs at session start.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import psutil

from harness.providers.local import process, state
from harness.providers.local.provider import teardown
from harness.scenarios.services import orphaned_service_dirs


@dataclass(frozen=True)
class Collected:
    """One thing gc removed (or would remove, in a dry run), and why."""

    what: str
    reason: str


def garbage_reason(st: state.ClusterState | Path, *, everything: bool) -> str | None:
    if isinstance(st, Path):
        return "its state file is missing or unreadable"
    if everything:
        return "--all was given"
    if st.owner is not None and not st.owner.alive():
        return f"its owner process {st.owner.pid} is gone"
    if st.owner is None and st.processes and not any(process.alive(r) for r in st.processes.values()):
        return "none of its components is running"
    return None


def collect(*, everything: bool = False, dry_run: bool = False) -> list[Collected]:
    """Remove garbage clusters and stray processes; return what was (or would be) removed."""
    removed: list[Collected] = []
    for st in state.all_states():
        reason = garbage_reason(st, everything=everything)
        if reason is None:
            continue
        directory = st if isinstance(st, Path) else st.directory
        name = directory.name
        if not dry_run:
            with state.cluster_lock(name):
                teardown(directory)
            state.remove_lock_file(name)
        removed.append(Collected(f"cluster {name}", reason))
    known = {d.directory for d in state.all_states() if isinstance(d, state.ClusterState)}
    for proc in process.marked_processes():
        try:
            mark = Path(proc.environ()[process.CLUSTER_ENV_MARK])
            label = f"process {proc.pid} ({proc.name()})"
        except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError):
            continue
        if mark in known or mark.exists():
            continue
        if not dry_run:
            process.terminate_tree(proc, timeout=5)
        removed.append(Collected(label, f"its cluster directory {mark} is gone"))
    for directory in orphaned_service_dirs():
        if not dry_run:
            shutil.rmtree(directory, ignore_errors=True)
        removed.append(Collected(f"service directory {directory}", "the process that ran its services is gone"))
    root = state.clusters_root()
    if root.is_dir() and not dry_run:
        for lock in root.glob(".*.lock"):
            if not (root / lock.name[1:-5]).exists():
                lock.unlink(missing_ok=True)
    return removed
