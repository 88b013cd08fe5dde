"""The pytest plugin's cleanup duty, in real pytest sessions run in a subprocess: at the start it
collects what belongs to gone processes and nothing else; a cluster it cannot remove fails the
session and is named in its summary. Cluster records here have no running control plane (a
marked ``sleep`` stands for a component), so no toolchain or container engine is needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness import gc
from harness.errors import ImageError
from harness.providers import Garbage, get_provider
from harness.providers.local import process, state
from harness.service_dirs import services_root
from tests.unit.test_gc import start_marked_sleep


@pytest.fixture(autouse=True)
def own_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "state"
    monkeypatch.setenv("SPIN_HARNESS_STATE", str(root))
    return root


def gone_owner() -> state.Owner:
    finished = subprocess.Popen(["true"])
    created = psutil.Process(finished.pid).create_time() if psutil.pid_exists(finished.pid) else time.time()
    finished.wait()
    return state.Owner(finished.pid, created)


def recorded_cluster(name: str, owner: state.Owner | None, component: subprocess.Popen[bytes] | None = None) -> Path:
    directory = state.cluster_dir(name)
    directory.mkdir(parents=True)
    st = state.ClusterState(name, directory, "v1.37.2", "v3.6.8", 1, owner=owner, phase="ready")
    if component is not None:
        proc = psutil.Process(component.pid)
        st.processes["kwok"] = process.ProcessRecord("kwok", proc.pid, proc.create_time(), ("sleep",), "/dev/null")
    st.save()
    return directory


def pytest_session(tmp_path: Path, body: str, *options: str) -> subprocess.CompletedProcess[str]:
    """A pytest session of one test file, as a user's suite would run it (plugin from its entry point)."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_it.py").write_text(body)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *options, "test_it.py"],
        cwd=suite,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_session_start_collects_dead_owners_only(tmp_path: Path) -> None:
    component = start_marked_sleep(state.cluster_dir("dead-run"))
    try:
        dead = recorded_cluster("dead-run", gone_owner(), component)
        live = recorded_cluster("live-run", state.Owner.current())
        kept = recorded_cluster("kept", None)
        half_made = state.cluster_dir("being-made")  # no state file yet: another process may be creating it
        half_made.mkdir()
        orphan_services = services_root() / f"{gone_owner().pid}-0a1b2c3d"
        live_services = services_root() / f"{os.getpid()}-0a1b2c3d"
        orphan_services.mkdir(parents=True)
        live_services.mkdir()

        result = pytest_session(tmp_path, "def test_nothing():\n    pass\n")

        assert result.returncode == 0, result.stdout + result.stderr
        assert "spin-harness: collected cluster dead-run (its owner process" in result.stdout
        assert "spin-harness cleanup" in result.stdout  # the summary section repeats it
        assert not dead.exists() and not orphan_services.exists()
        component.wait(timeout=10)  # the dead run's component was stopped
        assert live.exists() and kept.exists() and half_made.exists() and live_services.exists()
        for name in ("live-run", "kept", "being-made"):
            assert f"cluster {name}" not in result.stdout
    finally:
        if component.poll() is None:
            component.kill()
            component.wait()


class UnreachableEngine:
    """A provider whose container engine fails when asked for its garbage."""

    name = "unreachable"

    def garbage(self, everything: bool = False) -> list[Garbage]:
        raise ImageError("no Docker engine answers")


def test_one_provider_failing_does_not_stop_the_others(own_state: Path) -> None:
    dead = recorded_cluster("dead-run", gone_owner())
    other = own_state / "unreachable" / "x"
    other.mkdir(parents=True)
    (other / "cluster.json").write_text(json.dumps({"provider": "unreachable", "owner": gone_owner().to_json()}))
    sweep = gc.collect_dead_owners([UnreachableEngine(), get_provider("local")])  # type: ignore[list-item]
    assert sweep.failed == ["unreachable garbage: no Docker engine answers"]
    assert [c.what for c in sweep.collected] == ["cluster dead-run"] and not dead.exists()


FAILING_REMOVAL = """
from types import SimpleNamespace

import pytest

from harness.errors import ClusterError
from harness.plugin import ClusterFactory
from harness.session_cleanup import removal_failed


class Undeletable:
    name = "local"

    def create(self, name, version, nodes=1, *, keep=False):
        return SimpleNamespace(name=name)

    def delete(self, cluster):
        raise ClusterError(f"{cluster.name} would not stop")


@pytest.fixture
def factory(request):
    made = ClusterFactory(Undeletable(), False, "x", on_removal_failure=removal_failed(request.config))
    yield made
    made.close()


def test_makes_a_cluster(factory):
    factory.create("v1.37.2", name="stuck")
"""


@pytest.mark.parametrize("workers", [[], ["-n", "1"]], ids=["in-process", "xdist-worker"])
def test_a_cluster_that_cannot_be_removed_fails_the_session_by_name(tmp_path: Path, workers: list[str]) -> None:
    # Under pytest-xdist the failure happens on a worker and must reach the controlling process.
    result = pytest_session(tmp_path, FAILING_REMOVAL, *workers)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed, 1 error" in result.stdout  # the teardown errors; the test itself passed
    assert "WARNING could not remove local cluster stuck: stuck would not stop" in result.stdout
