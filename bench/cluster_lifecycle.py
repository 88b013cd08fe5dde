"""Benchmark: cluster create -> ready, in-place upgrade, and delete, side by side with kwokctl.

Runs the local provider and kwokctl's ``binary`` runtime against the *same* binaries from the
spin-harness toolchain cache, alternating runs so machine load affects both alike, and prints
medians and ratios (spin-harness / kwokctl: below 1 means spin-harness is faster). Both sides
are held to the same strict readiness, checked with the same raw calls at the same polling
pace: every node Ready and the ``default`` ServiceAccount present (kwokctl's own ``--wait``
covers its components only).

Beside the totals it prints the local provider's create broken down by step (certificates,
each component to healthy, nodes Ready, the ServiceAccount; steps that run together overlap)
and the memory (sum of the components' RSS, and of its anonymous part) of each cluster right
after it is ready.

kwokctl has no in-place upgrade; the equivalent there is delete + create at the new version,
which is what the upgrade row compares against.

    python bench/cluster_lifecycle.py --runs 5
    python bench/cluster_lifecycle.py --from 1.36 --to 1.37 --json results.json
    python bench/cluster_lifecycle.py --from 1.36 --create-only

kwokctl is built on first use like every pinned tool (``spin-harness toolchain ensure-tool
kwokctl``), from the same ``sigs.k8s.io/kwok`` release as the kwok controller both sides run.
Nothing here is a test; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import psutil

from harness.cli.version_flag import version_from_flag
from harness.kube.client import api_client, get_json, get_raw
from harness.kube.waits import wait_until
from harness.providers.local import LocalProvider, state
from harness.providers.local.bringup import ready_condition
from harness.toolchain import Component, Toolchain, ToolchainConfig
from harness.toolchain.ensure import ensure
from harness.toolchain.goproxy import newest_minors
from harness.toolchain.tools import ensure_tool
from harness.versions import KubeVersion

MIB = 1024 * 1024


def timed(action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def rss_mib(pids: Iterable[int], *, anonymous: bool = False) -> float:
    """Resident memory of ``pids`` and their children, in MiB; with ``anonymous``, without the
    file-backed pages (the binaries' code: clean page cache, shared by every cluster of a version,
    and mapped in folios as large as the kernel chose, so their RSS differs between kernels)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc = psutil.Process(pid)
            for member in (proc, *proc.children(recursive=True)):
                with contextlib.suppress(psutil.NoSuchProcess):
                    memory = member.memory_info()
                    total += memory.rss - memory.shared if anonymous else memory.rss
    return total / MIB


def wait_strictly_ready(kubeconfig: Path, nodes: int) -> None:
    """Every node Ready and the default ServiceAccount present: what the local provider's create waits for,
    checked with the same raw calls and the same polling pace."""
    with contextlib.closing(api_client(kubeconfig)) as api:

        def ready() -> tuple[bool, str]:
            count = sum(1 for node in get_json(api, "/api/v1/nodes")["items"] if ready_condition(node))
            account, _ = get_raw(api, "/api/v1/namespaces/default/serviceaccounts/default")
            return count >= nodes and account == 200, f"{count}/{nodes} Ready, default ServiceAccount: {account}"

        wait_until("nodes Ready and the default ServiceAccount", ready, timeout=120, interval=0.05, max_interval=0.2)


class Kwokctl:
    """kwokctl's binary runtime, pointed at the toolchain's binaries, in its own work dir."""

    def __init__(self, binary: Path, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.env = dict(os.environ, KWOK_WORKDIR=str(workdir))

    def run(self, *args: str) -> str:
        done = subprocess.run([str(self.binary), *args], env=self.env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"kwokctl {' '.join(args[:3])} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def cluster_dir(self, name: str) -> Path:
        return self.workdir / "clusters" / name

    def create(self, name: str, tools: Toolchain, nodes: int) -> None:
        self.run(
            "create",
            "cluster",
            "--name",
            name,
            "--runtime",
            "binary",
            f"--etcd-binary={tools[Component.ETCD]}",
            f"--kube-apiserver-binary={tools[Component.KUBE_APISERVER]}",
            f"--kube-controller-manager-binary={tools[Component.KUBE_CONTROLLER_MANAGER]}",
            f"--kube-scheduler-binary={tools[Component.KUBE_SCHEDULER]}",
            f"--kwok-controller-binary={tools[Component.KWOK]}",
            "--wait",
            "3m",
        )
        self.run("scale", "node", "--name", name, "--replicas", str(nodes))
        wait_strictly_ready(self.cluster_dir(name) / "kubeconfig.yaml", nodes)

    def pids(self, name: str) -> list[int]:
        found = []
        for pidfile in (self.cluster_dir(name) / "pids").glob("*.pid"):
            with contextlib.suppress(ValueError, OSError):
                found.append(int(pidfile.read_text().strip()))
        return found

    def delete(self, name: str) -> None:
        self.run("delete", "cluster", "--name", name)

    def remove_everything(self) -> None:
        """Delete whatever clusters a failed run left in the work dir, then the work dir."""
        for cluster in (self.workdir / "clusters").glob("*"):
            with contextlib.suppress(RuntimeError):
                self.delete(cluster.name)
        shutil.rmtree(self.workdir, ignore_errors=True)


class Samples:
    """Durations (and MiB) per row, one value per run."""

    def __init__(self) -> None:
        self.rows: dict[str, list[float]] = {}

    def add(self, row: str, value: float) -> None:
        self.rows.setdefault(row, []).append(value)

    def median(self, row: str) -> float:
        return statistics.median(self.rows[row])


def one_run(
    name: str,
    provider: LocalProvider,
    kwokctl: Kwokctl,
    versions: tuple[KubeVersion, KubeVersion | None],
    tools: tuple[Toolchain, Toolchain | None],
    nodes: int,
    samples: Samples,
) -> None:
    """One alternating round: spin-harness create/upgrade/delete, then kwokctl's equivalents."""
    started = time.monotonic()
    cluster = provider.create(name, versions[0], nodes)
    samples.add("spin create", time.monotonic() - started)
    pids = provider.component_pids(cluster)
    samples.add("spin MiB", rss_mib(pids.values()))
    samples.add("spin anonymous MiB", rss_mib(pids.values(), anonymous=True))
    for component, pid in pids.items():
        samples.add(f"MiB {component}", rss_mib([pid]))
    for step, seconds in provider.last_timings.steps:  # "toolchain" includes waits on a build's lock
        samples.add(f"step {step}", seconds)
    if versions[1] is not None:
        target = versions[1]
        samples.add("spin upgrade", timed(lambda: provider.upgrade(cluster, target)))
    samples.add("spin delete", timed(lambda: provider.delete(cluster)))

    samples.add("kwokctl create", timed(lambda: kwokctl.create(name, tools[0], nodes)))
    samples.add("kwokctl MiB", rss_mib(kwokctl.pids(name)))
    samples.add("kwokctl anonymous MiB", rss_mib(kwokctl.pids(name), anonymous=True))
    if tools[1] is not None:
        newer = tools[1]

        def recreate() -> None:
            kwokctl.delete(name)
            kwokctl.create(name, newer, nodes)

        samples.add("kwokctl upgrade", timed(recreate))
    samples.add("kwokctl delete", timed(lambda: kwokctl.delete(name)))


def report(samples: Samples, title: str) -> None:
    print(f"\n{title}")
    print(f"{'phase':10} {'spin-harness':>13} {'kwokctl':>10} {'ratio':>7}")
    for phase in ("create", "upgrade", "delete"):
        if f"spin {phase}" in samples.rows:
            ours, theirs = samples.median(f"spin {phase}"), samples.median(f"kwokctl {phase}")
            print(f"{phase:10} {ours:12.2f}s {theirs:9.2f}s {ours / theirs:7.2f}")
    ours, theirs = samples.median("spin MiB"), samples.median("kwokctl MiB")
    print(f"{'RSS ready':10} {ours:10.0f}MiB {theirs:7.0f}MiB {ours / theirs:7.2f}")
    ours, theirs = samples.median("spin anonymous MiB"), samples.median("kwokctl anonymous MiB")
    print(f"{'anonymous':10} {ours:10.0f}MiB {theirs:7.0f}MiB {ours / theirs:7.2f}")
    print("  " + ", ".join(f"{row[4:]} {samples.median(row):.0f}" for row in samples.rows if row.startswith("MiB ")))
    print("\nspin-harness create by step (seconds from the step's start; steps after the apiserver run together):")
    for row in samples.rows:
        if row.startswith("step "):
            print(f"  {row.removeprefix('step '):26} {samples.median(row):6.2f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--from", dest="source", help="version to create (default: second-newest minor)")
    parser.add_argument("--to", dest="target", help="version to upgrade to (default: newest minor)")
    parser.add_argument("--create-only", action="store_true", help="measure create and delete, no upgrade")
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    args = parser.parse_args()

    config = ToolchainConfig.from_env()
    if args.source and args.create_only:
        source, target = version_from_flag(args.source, config), None
    else:
        older, newer = newest_minors(2)
        source = version_from_flag(args.source, config) if args.source else older
        target = None if args.create_only else version_from_flag(args.target, config) if args.target else newer
    tools_from, tools_to = ensure(source), ensure(target) if target else None
    kwokctl = Kwokctl(ensure_tool(Component.KWOKCTL), Path(tempfile.mkdtemp(prefix="spin-bench-kwok-")))
    provider = LocalProvider()
    samples = Samples()

    names = [f"bench-{os.getpid()}-{run}" for run in range(args.runs)]
    try:
        for run, name in enumerate(names):
            one_run(name, provider, kwokctl, (source, target), (tools_from, tools_to), args.nodes, samples)
            latest = ", ".join(f"{row} {values[-1]:.1f}" for row, values in samples.rows.items())
            print(f"run {run + 1}/{args.runs}: {latest}", flush=True)
    finally:
        for name in names:  # a failed or interrupted run leaves no cluster behind
            if state.cluster_dir(name).exists():
                provider.delete_by_name(name)
        kwokctl.remove_everything()

    hop = f"{source} -> {target}" if target else str(source)
    report(samples, f"{hop}, {args.nodes} node(s), median of {args.runs} runs, same binaries:")
    if args.json:
        args.json.write_text(json.dumps({"from": str(source), "to": str(target), "samples": samples.rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
