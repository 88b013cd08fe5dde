"""Benchmark: two matrix cells run serially (-n 1) and in parallel (-n 2), and RSS per cluster.

Prints the wall-clock of each run, their ratio (below 1: parallel helps), and the resident
memory of one local cluster's processes (etcd, apiserver, controller-manager, scheduler,
kwok) right after it is ready. Nothing here asserts on time.

    python bench/parallel.py            # the two newest hops that are cached
    python bench/parallel.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from harness.providers.local import LocalProvider
from harness.providers.local import state as cluster_state
from harness.toolchain.goproxy import newest_minors

ROOT = Path(__file__).resolve().parents[1]


def cluster_rss_mib(version_text: str) -> dict[str, float]:
    """RSS per component of a fresh single-node local cluster, in MiB."""
    from harness.versions import KubeVersion

    provider = LocalProvider()
    cluster = provider.create(f"rss-{os.getpid()}", KubeVersion.parse(version_text))
    try:
        time.sleep(5)  # let controllers settle after their first sync
        st = cluster_state.ClusterState.load(cluster.state_dir)
        return {name: psutil.Process(rec.pid).memory_info().rss / 2**20 for name, rec in st.processes.items()}
    finally:
        provider.delete(cluster)


def timed_run(matrix: Path, workers: int, report: Path) -> tuple[float, int]:
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "--quiet",
            "run",
            str(matrix),
            "--report",
            str(report),
            "-n",
            str(workers),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.monotonic() - started, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    older, middle, newer = newest_minors(3)
    work = Path(tempfile.mkdtemp(prefix="spin-bench-parallel-"))
    matrix = work / "two-cells.yaml"
    matrix.write_text(
        "name: two-cells\nproviders: [local]\npaths:\n"
        f'  - hops: ["{older}", "{middle}"]\n  - hops: ["{middle}", "{newer}"]\n'
        'scenarios:\n  include: ["*"]\n'
        "probes:\n  budget: {api_max_outage_seconds: 60, min_availability: 0.05}\n"
    )
    serial, serial_rc = timed_run(matrix, 1, work / "n1")
    parallel, parallel_rc = timed_run(matrix, 2, work / "n2")
    rss = cluster_rss_mib(str(newer))
    print(f"two cells ({older}>{middle}, {middle}>{newer}), every scenario, {os.cpu_count()} CPUs")
    print(f"  -n 1: {serial:6.1f}s (exit {serial_rc})")
    print(f"  -n 2: {parallel:6.1f}s (exit {parallel_rc})")
    print(f"  ratio -n2/-n1: {parallel / serial:.2f}")
    print(f"memory of one local cluster at {newer}: {sum(rss.values()):.0f} MiB RSS")
    for name, mib in sorted(rss.items(), key=lambda kv: -kv[1]):
        print(f"  {name:24} {mib:6.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps({"serial": serial, "parallel": parallel, "rss_mib": rss}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
