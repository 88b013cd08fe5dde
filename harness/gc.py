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

from harness.images import engine
from harness.providers.kind.provider import KindProvider, remove_state_dir
from harness.providers.kind.state import KindState
from harness.providers.kind.state import all_states as kind_states
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
    removed += _collect_kind(everything=everything, dry_run=dry_run)
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


def _kind_garbage_reason(st: KindState | Path, *, everything: bool) -> str | None:
    if isinstance(st, Path):
        return "its state file is missing or unreadable"
    if everything:
        return "--all was given"
    if st.owner is not None and not st.owner.alive():
        return f"its owner process {st.owner.pid} is gone"
    if (
        st.owner is None
        and st.phase == "ready"
        and not any(KindProvider().status(KindProvider()._cluster(st)).values())
    ):
        return "none of its node containers is running"
    return None


def _collect_kind(*, everything: bool, dry_run: bool) -> list[Collected]:
    """kind clusters of gone owners, and node-image build containers of gone builds.

    Only clusters spin-harness recorded are touched: other kind clusters on the machine are
    not the harness's to remove. Nothing here asks Docker anything when there is nothing to do.
    """
    removed: list[Collected] = []
    states = kind_states()
    for st in states:
        reason = _kind_garbage_reason(st, everything=everything)
        if reason is None:
            continue
        directory = st if isinstance(st, Path) else st.directory
        if not dry_run:
            remove_state_dir(directory)
        removed.append(Collected(f"kind cluster {directory.name}", reason))
    if engine.engine_unavailable_reason() is None:
        for container in engine.docker_client().container.list(all=True, filters=[("label", engine.OWNER_LABEL)]):
            owner = str((container.config.labels or {}).get(engine.OWNER_LABEL, ""))
            if not owner.startswith("build-") or not owner[6:].isdigit() or psutil.pid_exists(int(owner[6:])):
                continue
            if not dry_run:
                engine.docker_client().container.remove(container, force=True, volumes=True)
            removed.append(Collected(f"build container {container.name}", f"its build process {owner[6:]} is gone"))
    return removed
