"""Benchmark: what one ``spin-harness`` call of the upgrade playbook costs, beside kind's own CLI.

The playbook starts ``spin-harness`` once per task: it reads the cluster's version, plans the
upgrade, runs each action, and reads the version again. The reading and planning calls do no
work beyond reading the cluster's record on disk, so their cost is the interpreter's start and
the imports. Each command runs ``--runs`` times in a fresh process against records made for
the benchmark (a kind and a local cluster; no container or process behind them), beside the
peer ``kind get clusters`` (a Go binary, from the toolchain). ``--busy N`` keeps N processes
spinning on the CPU meanwhile, as CI's workers and a cluster's upgrade do: start-up CPU turns
into seconds when the cores are shared.

    python bench/cli_startup.py --runs 10
    python bench/cli_startup.py --runs 10 --busy 2

Wall-clock and CPU seconds per call, median and range. Nothing here is a test; nothing asserts
on time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.progress import no_progress
from harness.providers.common.owner import Owner
from harness.providers.kind.state import KindState
from harness.providers.kind.tools import kind_cli
from harness.providers.local import state as local_state

SPIN_HARNESS = [sys.executable, "-m", "harness.cli", "--quiet"]


def commands(kind: Path) -> dict[str, list[str]]:
    return {
        "spin-harness cluster list --provider kind": [*SPIN_HARNESS, "cluster", "list", "--json", "--provider", "kind"],
        "spin-harness cluster list --provider local": [
            *SPIN_HARNESS,
            "cluster",
            "list",
            "--json",
            "--provider",
            "local",
        ],
        "spin-harness cluster upgrade-plan (kind)": [
            *SPIN_HARNESS,
            *("cluster", "upgrade-plan", "bench-kind", "--to", "v1.37.2", "--provider", "kind", "--json"),
        ],
        "kind get clusters (peer)": [str(kind), "get", "clusters"],
    }


def make_records(root: Path) -> dict[str, str]:
    """A kind and a local cluster's records under ``root``, and the environment that finds them."""
    env = dict(os.environ, SPIN_HARNESS_STATE=str(root / "state"), SPIN_HARNESS_CACHE=str(root / "cache"))
    os.environ["SPIN_HARNESS_STATE"] = env["SPIN_HARNESS_STATE"]
    kind_dir = root / "state" / "kind" / "bench-kind"
    kind_dir.mkdir(parents=True)
    KindState("bench-kind", kind_dir, "v1.36.3", "bench", 2, 40001, 40002, phase="ready").save()
    local_dir = local_state.cluster_dir("bench-local")
    local_dir.mkdir(parents=True)
    local_state.ClusterState("bench-local", local_dir, "v1.36.3", "v3.6.8", 1, owner=Owner.current()).save()
    versions = root / "cache" / "toolchain" / "kubernetes-versions.json"
    versions.parent.mkdir(parents=True)
    versions.write_text(json.dumps(["v1.36.3", "v1.37.2"]))  # the plan checks --to against this list
    return env


@contextmanager
def busy_cores(count: int) -> Iterator[None]:
    """``count`` processes spinning on the CPU while the block runs."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--busy", type=int, default=0, help="processes kept spinning on the CPU meanwhile")
    args = parser.parse_args()
    kind = kind_cli(None, no_progress)  # built or found before the clock starts
    root = Path(tempfile.mkdtemp(prefix="spin-cli-bench-"))
    try:
        env = make_records(root)
        chosen = commands(kind)
        for argv in chosen.values():  # warm the page cache and the bytecode caches
            timed(argv, env)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in chosen}
        with busy_cores(args.busy):
            for _ in range(args.runs):  # interleaved, so a change in load hits every command alike
                for name, argv in chosen.items():
                    results[name].append(timed(argv, env))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\none call each, {args.runs} runs, {args.busy} busy process(es), {os.cpu_count()} cores")
    print(f"  {'command':45} {'wall median':>11} {'range':>13} {'CPU median':>11}")
    for name, runs in results.items():
        walls = [w for w, _ in runs]
        cpu = statistics.median(c for _, c in runs)
        span = f"{min(walls):.2f}-{max(walls):.2f}"
        print(f"  {name:45} {statistics.median(walls):10.2f}s {span:>12}s {cpu:10.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
