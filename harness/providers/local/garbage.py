"""What ``gc`` removes of the local provider's: clusters nobody will use again, and stray processes.

A local cluster is garbage when the process that owns it is gone (a killed test run or worker),
when it was kept but none of its components run any more (a reboot), or when its state cannot
be read. Component processes whose cluster directory no longer exists are stopped too.
"""

from __future__ import annotations

import contextlib
import shutil
from functools import partial
from pathlib import Path

import psutil

from harness.errors import ClusterError
from harness.providers.base import Garbage
from harness.providers.common.recorded import recorded_garbage, recorded_garbage_reason
from harness.providers.local import process, state
from harness.providers.local.components import START_ORDER

#: Seconds a component of a cluster being removed gets between SIGTERM and SIGKILL. Most exit
#: within 50 ms; the apiserver's graceful termination (a second or more) protects clients and
#: data that removal throws away anyway.
TEARDOWN_GRACE = 0.3


def garbage_reason(st: state.ClusterState | Path, *, everything: bool) -> str | None:
    return recorded_garbage_reason(st, everything=everything, idle=_idle, why_idle="none of its components is running")


def _idle(st: state.ClusterState) -> bool:
    """Whether a cluster with recorded processes has none of them alive."""
    return bool(st.processes) and not any(process.alive(r) for r in st.processes.values())


def teardown(directory: Path) -> None:
    """Stop every process of the cluster at ``directory`` and delete the directory.

    Works from the recorded processes and, for anything a crash kept out of the record, from
    the environment mark every component carries. Safe to call on a half-created cluster.
    """
    try:
        st = state.ClusterState.load(directory)
        records = [st.processes[c] for c in reversed(START_ORDER) if c in st.processes]
    except ClusterError:
        records = []
    for record in records:
        process.stop(record, timeout=TEARDOWN_GRACE)
    for stray in process.marked_processes(directory):
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate_tree(stray, timeout=5)
    shutil.rmtree(directory, ignore_errors=True)


def local_garbage(*, everything: bool) -> list[Garbage]:
    """Garbage clusters, stray component processes, and lock files of vanished clusters."""
    states = state.all_states()
    found = recorded_garbage(states, "cluster", partial(garbage_reason, everything=everything), _remove)
    known = {st.directory for st in states if isinstance(st, state.ClusterState)}
    for proc in process.marked_processes():
        try:
            mark = Path(proc.environ()[process.CLUSTER_ENV_MARK])
            label = f"process {proc.pid} ({proc.name()})"
        except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError):
            continue
        if mark in known or mark.exists():
            continue
        found.append(
            Garbage(label, f"its cluster directory {mark} is gone", partial(process.terminate_tree, proc, timeout=5))
        )
    root = state.clusters_root()
    for lock in root.glob(".*.lock") if root.is_dir() else []:
        if not (root / lock.name[1:-5]).exists():
            found.append(
                Garbage(f"lock file {lock}", "its cluster is gone", partial(lock.unlink, missing_ok=True), True)
            )
    return found


def _remove(directory: Path) -> None:
    with state.cluster_lock(directory.name):
        teardown(directory)
    state.remove_lock_file(directory.name)
