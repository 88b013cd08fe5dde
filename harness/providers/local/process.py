"""Component processes of a local cluster: started, identified, and stopped for sure.

A pid alone is not an identity (pids are reused), so each record keeps the process's start
time too. Every component runs in its own session, with ``SPIN_HARNESS_CLUSTER`` set to the
cluster directory in its environment; ``gc`` finds strays by that mark even when a crash
lost the record.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

CLUSTER_ENV_MARK = "SPIN_HARNESS_CLUSTER"

# Popen handles of children this process started, so they are reaped, not left as zombies.
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ProcessRecord:
    component: str
    pid: int
    create_time: float
    argv: tuple[str, ...]
    log: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ProcessRecord:
        return cls(raw["component"], int(raw["pid"]), float(raw["create_time"]), tuple(raw["argv"]), raw["log"])


def start(component: str, argv: Sequence[str], log: Path, cluster_dir: Path) -> ProcessRecord:
    """Start ``argv`` in a new session, output appended to ``log``, marked with the cluster dir."""
    env = dict(os.environ)
    env[CLUSTER_ENV_MARK] = str(cluster_dir)
    with log.open("ab") as sink:
        sink.write(f"\n=== {time.strftime('%H:%M:%S')} start {' '.join(argv)}\n".encode())
        sink.flush()
        proc = subprocess.Popen(
            list(argv),
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    _children[proc.pid] = proc
    try:
        created = psutil.Process(proc.pid).create_time()
    except psutil.NoSuchProcess:
        created = 0.0
    return ProcessRecord(component, proc.pid, created, tuple(argv), str(log))


def _reap() -> None:
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            _children.pop(pid, None)  # another thread may have reaped it meanwhile


def alive(record: ProcessRecord) -> bool:
    """True while the very process in ``record`` runs (not a zombie, not a reused pid)."""
    _reap()
    try:
        proc = psutil.Process(record.pid)
        if record.create_time and abs(proc.create_time() - record.create_time) > 0.05:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def stop(record: ProcessRecord, timeout: float = 10.0) -> None:
    """SIGTERM the component (and anything it spawned), then SIGKILL after ``timeout``."""
    if not alive(record):
        _reap()
        return
    terminate_tree(psutil.Process(record.pid), timeout)
    _reap()


def _gone(proc: psutil.Process) -> bool:
    """Exited, or exited and waiting for a parent (maybe another process) to reap it."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    pending = list(procs)
    while pending and time.monotonic() < deadline:
        _reap()
        pending = [p for p in pending if not _gone(p)]
        if pending:
            time.sleep(0.05)
    return pending


def terminate_tree(proc: psutil.Process, timeout: float = 10.0) -> None:
    """Stop a process and its descendants: TERM, wait, then KILL what is left.

    The component may be the child of another process (a cluster upgraded from the CLI keeps
    running under the test that created it), so "gone" includes zombies its parent has not
    reaped yet; our own children are reaped here.
    """
    try:
        family = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for member in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.send_signal(signal.SIGTERM)
    still = _wait_gone(family, timeout)
    for member in still:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    _wait_gone(still, 5)
    for member in family:
        popen = _children.pop(member.pid, None)
        if popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(5)


def marked_processes(cluster_dir: Path | None = None) -> list[psutil.Process]:
    """Processes carrying the cluster mark (for ``cluster_dir``, or any cluster when None)."""
    found = []
    for proc in psutil.process_iter():
        try:
            mark = proc.environ().get(CLUSTER_ENV_MARK)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
        if mark and (cluster_dir is None or Path(mark) == cluster_dir):
            found.append(proc)
    return found
