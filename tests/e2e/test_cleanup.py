"""Interrupted runs leave nothing behind: Ctrl-C and SIGTERM on their own, kill -9 once collected.

A run stopped by Ctrl-C or SIGTERM must have removed its clusters by the time it exits (checked
before anything else runs). What a SIGKILLed process leaves is collected by ``spin-harness gc``,
or by the next pytest session with the spin-harness plugin, at its start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.errors import ClusterError
from harness.plugin import ClusterFactory
from harness.providers.common import ports
from harness.providers.local import process, state
from harness.providers.local.garbage import teardown
from harness.service_dirs import services_root
from harness.versions import KubeVersion
from tests.e2e.test_run import ROOT, write_matrix

pytestmark = pytest.mark.e2e


def clusters_dir() -> Path:
    return Path(os.environ["SPIN_HARNESS_STATE"]) / "clusters"


def cluster_dirs() -> list[Path]:
    root = clusters_dir()
    return [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []


def marked_here() -> list[psutil.Process]:
    root = clusters_dir()
    return [
        p
        for p in process.marked_processes()
        if str(p.environ().get(process.CLUSTER_ENV_MARK, "")).startswith(str(root))
    ]


def start_run(matrix: Path, report: Path, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, SPIN_HARNESS_QUIET="1")
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(matrix), "--report", str(report), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def wait_for_clusters(count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = [d for d in cluster_dirs() if (d / "logs" / "kwok.log").exists()]
        if len(ready) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"{count} cluster(s) did not come up in {timeout}s")


def gc_and_check() -> None:
    subprocess.run([sys.executable, "-m", "harness.cli", "gc"], cwd=ROOT, check=True, capture_output=True)
    assert cluster_dirs() == []
    assert marked_here() == []


def recorded_ports() -> list[int]:
    """The loopback ports of every local cluster recorded now."""
    return [port for st in state.all_states() if isinstance(st, state.ClusterState) for port in st.ports.values()]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_run_leaves_nothing(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion], sig: signal.Signals
) -> None:
    matrix = write_matrix(tmp_path / "m.yaml", e2e_versions, outage=60, availability=0.05, exclude='["*"]')
    run = start_run(matrix, tmp_path / "report")
    try:
        wait_for_clusters(1)
        taken = recorded_ports()
        assert taken, "the cluster records no ports"
        run.send_signal(sig)
        run.wait(timeout=120)
        assert run.returncode != 0
        # The run's own cleanup, checked before gc (or any later session) could do it instead.
        assert cluster_dirs() == [], "the interrupted run left its cluster directory"
        assert marked_here() == [], "the interrupted run left cluster processes running"
        assert [port for port in taken if not ports.port_is_free(port)] == []
        assert list(services_root().glob(f"{run.pid}-*")) == []
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        gc_and_check()


def playbook_family(run: subprocess.Popen[str]) -> list[psutil.Process]:
    """The upgrade playbook's processes under ``run`` (empty until the hop starts it)."""
    try:
        family = psutil.Process(run.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    playbooks = [p for p in family if "ansible-playbook" in " ".join(_cmdline(p))]
    return [p for top in playbooks for p in [top, *_descendants(top)]]


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def _descendants(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_sigterm_during_the_upgrade_playbook_leaves_nothing(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    """The playbook runs in a session of its own: interrupted mid-hop, it must stop with the run,
    or it would go on starting the target's components after the cluster was torn down."""
    matrix = write_matrix(tmp_path / "m.yaml", e2e_versions, outage=60, availability=0.05, exclude='["*"]')
    run = start_run(matrix, tmp_path / "report")
    try:
        deadline = time.monotonic() + 300
        while not (upgrade := [p for p in playbook_family(run) if "upgrade" in " ".join(_cmdline(p))]):
            assert run.poll() is None, "the run ended before its hop"
            assert time.monotonic() < deadline, "the hop's playbook did not start its upgrade command"
            time.sleep(0.1)
        family = playbook_family(run)
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=120)
        assert run.returncode != 0
        still = [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert still == [], f"the interrupted run left its playbook running: {[_cmdline(p) for p in still]}"
        assert upgrade, "the upgrade command was seen"
        assert cluster_dirs() == [], "the interrupted run left its cluster directory"
        assert marked_here() == [], "the interrupted run left cluster processes running"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        gc_and_check()


OWNER = """
import sys, time
from harness.providers import get_provider
from harness.versions import KubeVersion

get_provider("local").create(sys.argv[1], KubeVersion.parse(sys.argv[2]), nodes=1)
time.sleep(3600)
"""


def wait_ready(name: str, owner: subprocess.Popen[bytes], timeout: float = 300) -> state.ClusterState:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert owner.poll() is None, f"the owner process exited with {owner.returncode}"
        try:
            st: state.ClusterState | None = state.ClusterState.load(state.cluster_dir(name))
        except ClusterError:  # not written yet
            st = None
        if st is not None and st.phase == "ready":
            return st
        time.sleep(0.5)
    raise AssertionError(f"cluster {name} was not ready in {timeout}s")


def test_a_dead_owners_cluster_is_collected_when_a_session_starts(
    tmp_path: Path, cluster_factory: ClusterFactory, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    name = f"dead{os.getpid() % 100000}"
    owner = subprocess.Popen([sys.executable, "-c", OWNER, name, str(e2e_versions[1])], cwd=ROOT)
    try:
        dead = wait_ready(name, owner)
        owner.kill()  # SIGKILL: the owner's own cleanup never runs
        owner.wait()
        components = process.marked_processes(dead.directory)
        assert components, "the killed owner's cluster should still be running"
        # A cluster of a live process (this test's) must survive the session start.
        live = cluster_factory.create(e2e_versions[1], nodes=1)

        session = pytest_session_in(tmp_path / "suite")

        assert session.returncode == 0, session.stdout[-3000:] + session.stderr[-2000:]
        assert f"spin-harness: collected cluster {name} (its owner process {owner.pid} is gone)" in session.stdout
        assert not dead.directory.exists()
        assert [p.pid for p in components if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
        assert [port for port in dead.ports.values() if not ports.port_is_free(port)] == []
        assert live.name not in session.stdout
        assert live.state_dir.is_dir() and all(cluster_factory.provider.status(live).values())
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        if state.cluster_dir(name).exists():  # the session did not collect it: remove it here
            teardown(state.cluster_dir(name))


def pytest_session_in(suite: Path) -> subprocess.CompletedProcess[str]:
    """A user's pytest session (one passing test) with the spin-harness plugin from its entry point."""
    suite.mkdir()
    (suite / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_nothing.py"],
        cwd=suite,
        env=dict(os.environ, SPIN_HARNESS_QUIET="1"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_killed_xdist_worker_is_collected(tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]) -> None:
    older, newer = e2e_versions
    matrix = tmp_path / "two.yaml"
    matrix.write_text(
        "name: two\nproviders: [local]\n"
        f'paths:\n  - hops: ["{older}", "{newer}"]\n  - from: "{older}"\n    to: "{newer}"\n    nodes_lag: 1\n'
        'scenarios:\n  include: ["*"]\n  exclude: ["*"]\n'
        "probes:\n  budget: {api_max_outage_seconds: 60, min_availability: 0.05}\n"
    )
    run = start_run(matrix, tmp_path / "report", "-n", "2")
    try:
        wait_for_clusters(2)
        # The workers are the run's own children, the execnet gateways it spawned. xdist sets
        # PYTEST_XDIST_WORKER inside them after they start, so only what they start (a cluster's
        # etcd or apiserver) carries it in its environment: selecting by it would kill a component.
        workers = [p for p in psutil.Process(run.pid).children() if "exec(eval(sys.stdin" in " ".join(p.cmdline())]
        assert workers, "no xdist worker found"
        victim = workers[0]
        victim.kill()  # SIGKILL: the worker's own cleanup never runs
        run.wait(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    gc_and_check()
