"""gc decisions and stray-process collection, without a cluster and without a container engine."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from harness import gc
from harness.images import engine
from harness.providers.local import process, state
from harness.providers.local.garbage import garbage_reason


@pytest.fixture(autouse=True)
def no_container_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """gc asks every provider; none of them may reach the host's Docker engine from a unit test."""

    def no_engine() -> object:
        raise AssertionError("a unit test of gc asked the Docker engine")

    monkeypatch.setattr(engine, "engine_unavailable_reason", lambda: "no container engine in unit tests")
    monkeypatch.setattr(engine, "docker_client", no_engine)


def start_marked_sleep(cluster_dir: Path) -> subprocess.Popen[bytes]:
    """A ``sleep`` carrying the cluster mark, returned once it has exec'd.

    Until the child execs, /proc shows the parent's environment, so gc could not see the mark yet.
    """
    env = dict(os.environ, **{process.CLUSTER_ENV_MARK: str(cluster_dir)})
    stray = subprocess.Popen(["sleep", "120"], env=env, start_new_session=True)
    deadline = time.monotonic() + 10
    while process.CLUSTER_ENV_MARK not in psutil.Process(stray.pid).environ():
        assert time.monotonic() < deadline, "the marked sleep never exec'd"
        time.sleep(0.01)
    return stray


def test_stray_process_of_a_vanished_cluster_is_stopped(tmp_path: Path) -> None:
    stray = start_marked_sleep(tmp_path / "clusters" / "ghost")
    try:
        removed = gc.collect()
        assert any(f"process {stray.pid}" in item.what for item in removed)
        stray.wait(timeout=10)
    finally:
        if stray.poll() is None:
            stray.kill()
            stray.wait()


def test_dry_run_removes_nothing(tmp_path: Path) -> None:
    stray = start_marked_sleep(tmp_path / "gone")
    try:
        assert any(f"process {stray.pid}" in i.what for i in gc.collect(dry_run=True))
        assert stray.poll() is None
    finally:
        stray.kill()
        stray.wait()


def test_cluster_with_dead_owner_is_garbage(tmp_path: Path) -> None:
    short_lived = subprocess.Popen(["true"])
    short_lived.wait()
    created = psutil.Process().create_time()
    st = state.ClusterState("c", tmp_path, "v1.36.3", "v3.6.8", 1, owner=state.Owner(short_lived.pid, created))
    assert garbage_reason(st, everything=False) is not None
    st.owner = state.Owner.current()
    assert garbage_reason(st, everything=False) is None
    assert garbage_reason(st, everything=True) == "--all was given"


def test_unreadable_state_is_garbage(tmp_path: Path) -> None:
    assert garbage_reason(tmp_path, everything=False) is not None


def test_process_record_detects_pid_reuse() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        record = process.ProcessRecord("x", proc.pid, psutil.Process(proc.pid).create_time(), ("sleep",), "/dev/null")
        assert process.alive(record)
        reused = process.ProcessRecord("x", proc.pid, record.create_time - 100, ("sleep",), "/dev/null")
        assert not process.alive(reused)
    finally:
        proc.kill()
        proc.wait()
    time.sleep(0.05)
    assert not process.alive(record)
