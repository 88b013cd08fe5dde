"""Benchmark: a kind cluster's create and in-place hop, by step (absolute figures).

``kind create cluster`` needs kind's node images from a registry, so there is no peer to run
beside it offline: the figures are spin-harness's own, each with the provider's step times
(``KindProvider.last_timings``: kind's create, the pod network, readiness, the images' load,
the ingress controller; the hop's image load, ``kubeadm upgrade apply``, each kubelet...). The
node images, the webhook and Traefik images are built first, so builds stay out of the numbers.
Each run creates a fresh cluster (two nodes by default), hops it when ``--to`` is given, and
removes it. The load average when each run starts is printed beside it: on two cores a create
moves by several seconds with what else runs.

    python bench/kind_lifecycle.py --from v1.36.3 --runs 5
    python bench/kind_lifecycle.py --from v1.36.3 --to v1.37.2 --runs 3 --json kind.json

Medians over the runs, printed as a table. Nothing here is a test; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import time
from pathlib import Path

from harness.cli.version_flag import version_from_flag
from harness.images.kind_node import build_node_image
from harness.images.webhook_image import ensure_webhook_image
from harness.progress import no_progress
from harness.providers.kind import KindProvider
from harness.providers.kind.ingress import ensure_image as ensure_ingress_image
from harness.toolchain import ToolchainConfig
from harness.versions import KubeVersion

Phases = dict[str, float]


def run_once(
    provider: KindProvider, source: KubeVersion, target: KubeVersion | None, nodes: int
) -> tuple[Phases, Phases | None]:
    """One fresh cluster: the create's total and steps, and the hop's when ``target`` is given."""
    name = f"bench-{secrets.token_hex(3)}"
    started = time.monotonic()
    cluster = provider.create(name, source, nodes=nodes)
    try:
        create = {"create": time.monotonic() - started, **steps(provider, name)}
        if target is None:
            return create, None
        started = time.monotonic()
        provider.upgrade(cluster, target)
        return create, {"hop": time.monotonic() - started, **steps(provider, name)}
    finally:
        provider.delete(cluster)


def steps(provider: KindProvider, name: str) -> Phases:
    """The last create's or hop's steps, named without the cluster (``kubelet control-plane``),
    so that runs of differently named clusters share their rows."""
    return {f"  {title.replace(name + '-', '')}": seconds for title, seconds in provider.last_timings.steps}


def print_table(title: str, runs: list[Phases]) -> None:
    """Each row's median and range over the runs that have it (a step may be absent from a run)."""
    print(f"\n{title} (median of {len(runs)}; range)")
    rows = list(dict.fromkeys(phase for run in runs for phase in run))
    width = max((len(p) for p in rows), default=10)
    for phase in rows:
        values = [run[phase] for run in runs if phase in run]
        print(f"  {phase:{width}} {statistics.median(values):8.2f}s  {min(values):7.2f}-{max(values):.2f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", required=True, help="the version to create, e.g. v1.36.3")
    parser.add_argument("--to", dest="target", help="hop each cluster to this version (default: no hop)")
    parser.add_argument("--runs", type=int, default=3, help="clusters to create (default 3)")
    parser.add_argument("--nodes", type=int, default=2, help="nodes per cluster (default 2)")
    parser.add_argument("--json", type=Path, help="also write every run's steps here")
    args = parser.parse_args()

    config = ToolchainConfig.from_env()
    source = version_from_flag(args.source, config, field="--from")
    target = version_from_flag(args.target, config, field="--to") if args.target else None
    provider = KindProvider(toolchain=config)
    for version in (source, target):
        if version is not None:
            build_node_image(version, config=config, progress=no_progress)
    ensure_webhook_image(no_progress)
    if provider.ingress:
        ensure_ingress_image(config, no_progress)
    creates: list[Phases] = []
    hops: list[Phases] = []
    for run in range(args.runs):
        load = os.getloadavg()[0]
        create, hop = run_once(provider, source, target, args.nodes)
        creates.append(create)
        line = f"run {run + 1}/{args.runs} (load average {load:.1f}): create {create['create']:.1f}s"
        if hop is not None:
            hops.append(hop)
            line += f", hop {hop['hop']:.1f}s"
        print(line, flush=True)
    print_table(f"kind create at {source}, {args.nodes} nodes", creates)
    if hops:
        print_table(f"kind in-place hop {source} -> {target}", hops)
    if args.json:
        body = {"from": str(source), "to": str(target) if target else None, "creates": creates, "hops": hops}
        args.json.write_text(json.dumps(body, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
