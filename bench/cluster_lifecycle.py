"""Benchmark: cluster create -> ready, in-place upgrade, and delete, side by side with kwokctl.

Runs the local provider and kwokctl's ``binary`` runtime against the *same* binaries from the
spin-harness toolchain cache, alternating runs so machine load affects both alike, and prints
medians and ratios (spin-harness / kwokctl: below 1 means spin-harness is faster). kwokctl has
no in-place upgrade; the equivalent there is delete + create at the new version, which is what
the upgrade row compares against.

    python bench/cluster_lifecycle.py --runs 5
    python bench/cluster_lifecycle.py --from 1.36 --to 1.37 --json results.json

kwokctl is built on first use with ``go install sigs.k8s.io/kwok/cmd/kwokctl@<pinned>`` into
``~/.cache/spin-harness/bench-tools``. Nothing here is a test; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness.cli.version_flag import version_from_flag
from harness.paths import cache_root
from harness.providers.local import LocalProvider
from harness.toolchain import Component, Toolchain, ToolchainConfig, ensure
from harness.toolchain.components import KWOK_VERSION
from harness.toolchain.goproxy import newest_minors
from harness.versions import KubeVersion

KWOKCTL_MODULE = "sigs.k8s.io/kwok/cmd/kwokctl"


def kwokctl_binary() -> Path:
    tools = cache_root() / "bench-tools"
    binary = tools / "kwokctl"
    if not binary.is_file():
        tools.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, GOBIN=str(tools), GOFLAGS="")
        subprocess.run(["go", "install", "-trimpath", f"{KWOKCTL_MODULE}@{KWOK_VERSION}"], env=env, check=True)
    return binary


def timed(action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


class Kwokctl:
    """kwokctl's binary runtime, pointed at the toolchain's binaries, in its own work dir."""

    def __init__(self, binary: Path, workdir: Path) -> None:
        self.binary = binary
        self.env = dict(os.environ, KWOK_WORKDIR=str(workdir))

    def run(self, *args: str) -> None:
        done = subprocess.run([str(self.binary), *args], env=self.env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"kwokctl {' '.join(args[:3])} failed:\n{done.stderr[-2000:]}")

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
        self.run("--name", name, "kubectl", "wait", "--for=condition=Ready", "node", "--all", "--timeout=120s")

    def delete(self, name: str) -> None:
        self.run("delete", "cluster", "--name", name)


def one_run(
    name: str,
    provider: LocalProvider,
    kwokctl: Kwokctl,
    versions: tuple[KubeVersion, KubeVersion],
    tools: tuple[Toolchain, Toolchain],
    nodes: int,
    samples: dict[str, list[float]],
) -> None:
    """One alternating round: spin-harness create/upgrade/delete, then kwokctl's equivalents."""
    started = time.monotonic()
    cluster = provider.create(name, versions[0], nodes)
    samples["spin create"].append(time.monotonic() - started)
    samples["spin upgrade"].append(timed(lambda: provider.upgrade(cluster, versions[1])))
    samples["spin delete"].append(timed(lambda: provider.delete(cluster)))

    samples["kwokctl create"].append(timed(lambda: kwokctl.create(name, tools[0], nodes)))
    samples["kwokctl recreate"].append(timed(lambda: (kwokctl.delete(name), kwokctl.create(name, tools[1], nodes))))
    samples["kwokctl delete"].append(timed(lambda: kwokctl.delete(name)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--from", dest="source", help="version to create (default: second-newest minor)")
    parser.add_argument("--to", dest="target", help="version to upgrade to (default: newest minor)")
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    args = parser.parse_args()

    config = ToolchainConfig.from_env()
    older, newer = newest_minors(2)
    source = version_from_flag(args.source, config) if args.source else older
    target = version_from_flag(args.target, config) if args.target else newer
    tools_from, tools_to = ensure(source), ensure(target)
    kwokctl = Kwokctl(kwokctl_binary(), Path(tempfile.mkdtemp(prefix="spin-bench-kwok-")))
    provider = LocalProvider()
    samples: dict[str, list[float]] = {
        k: []
        for k in (
            "spin create",
            "spin upgrade",
            "spin delete",
            "kwokctl create",
            "kwokctl recreate",
            "kwokctl delete",
        )
    }

    for run in range(args.runs):
        one_run(
            f"bench-{os.getpid()}-{run}",
            provider,
            kwokctl,
            (source, target),
            (tools_from, tools_to),
            args.nodes,
            samples,
        )
        print(
            f"run {run + 1}/{args.runs}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in samples.items()),
            flush=True,
        )

    med = {k: statistics.median(v) for k, v in samples.items()}
    print(f"\n{source} -> {target}, {args.nodes} node(s), median of {args.runs} runs, same binaries:")
    print(f"{'phase':10} {'spin-harness':>13} {'kwokctl':>10} {'ratio':>7}")
    for phase, theirs in (
        ("create", "kwokctl create"),
        ("upgrade", "kwokctl recreate"),
        ("delete", "kwokctl delete"),
    ):
        ours = med[f"spin {phase}"]
        print(f"{phase:10} {ours:12.2f}s {med[theirs]:9.2f}s {ours / med[theirs]:7.2f}")
    if args.json:
        args.json.write_text(json.dumps({"from": str(source), "to": str(target), "samples": samples}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
