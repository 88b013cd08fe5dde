"""Interrupted runs leave nothing behind once ``spin-harness gc`` has run (Ctrl-C, SIGTERM, kill -9)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.providers.local import process
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


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_run_leaves_nothing(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion], sig: signal.Signals
) -> None:
    matrix = write_matrix(tmp_path / "m.yaml", e2e_versions, outage=60, availability=0.05, exclude='["*"]')
    run = start_run(matrix, tmp_path / "report")
    try:
        wait_for_clusters(1)
        run.send_signal(sig)
        run.wait(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode != 0
    gc_and_check()


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
        workers = [
            p for p in psutil.Process(run.pid).children(recursive=True) if "PYTEST_XDIST_WORKER" in (p.environ() or {})
        ]
        assert workers, "no xdist worker found"
        victim = workers[0]
        victim.kill()  # SIGKILL: the worker's own cleanup never runs
        run.wait(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    gc_and_check()
