"""Benchmark: a one-hop ``spin-harness gate`` by phase, and the local in-place hop by step.

The gate runs as users run it (``spin-harness gate --from --to --workloads``, every scenario,
the local provider) in a process of its own; its phases are read back from the report it
writes: ``summary.json``'s items (each with its seconds) and the cell's timings (the cluster
create, each detector's snapshot, the dry-run's scratch cluster, the playbook hop...). Start-up
is the time until the pytest session began, the report the time from the summary to the exit.
The hop rows time ``LocalProvider.upgrade`` (the Python path, with its steps) and the same hop
through ``playbooks/upgrade.yml`` (what a cell runs), each on a fresh cluster.

    python bench/gate.py --runs 3
    python bench/gate.py --from 1.36 --to 1.37 --hop-runs 5 --json gate.json
    python bench/gate.py --runs 0 --hop-runs 5          # the hop only

Medians over the runs, printed as a table. Nothing here is a test; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from harness.cli.version_flag import version_from_flag
from harness.providers.local import LocalProvider
from harness.toolchain import ToolchainConfig
from harness.toolchain.ensure import ensure
from harness.toolchain.goproxy import newest_minors
from harness.upgrade.playbook import run_playbook
from harness.versions import KubeVersion

#: A small tenant export: the gate replays it, dry-runs it at the target, and so starts the
#: dry-run's scratch cluster, as a gate with ``--workloads`` does.
TENANT: list[dict[str, Any]] = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench-tenant", "labels": {"tenant": "bench"}}},
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "bench-tenant"},
        "data": {"mode": "bench"},
    },
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "bench-tenant"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]},
            },
        },
    },
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "bench-tenant"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
    },
]

Phases = dict[str, float]


def write_tenant(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for number, body in enumerate(TENANT):
        (directory / f"{number:02d}-{body['kind'].lower()}.yaml").write_text(yaml.safe_dump(body))
    return directory


def gate_once(source: KubeVersion, target: KubeVersion, workloads: Path, report: Path) -> tuple[Phases, str]:
    """Run one gate; its phases in seconds, and its verdict line (the answer must not change)."""
    started = time.time()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "--quiet",
            "gate",
            "--from",
            str(source),
            "--to",
            str(target),
            "--workloads",
            str(workloads),
            "--report",
            str(report),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=report.parent,  # not the checkout: ``-m`` would import the harness from the current directory
    )
    ended = time.time()
    summary_path = report / "summary.json"
    if not summary_path.is_file():
        raise RuntimeError(f"the gate wrote no summary (exit {done.returncode}):\n{done.stderr[-3000:]}")
    summary = json.loads(summary_path.read_text())
    verdict = done.stdout.splitlines()[0] if done.stdout else f"exit {done.returncode}"
    return gate_phases(summary, started, ended), f"exit {done.returncode}: {verdict}"


def gate_phases(summary: dict[str, Any], started: float, ended: float) -> Phases:
    """The gate's phases from its summary: items by what they do, and the cell's timings."""
    (cell,) = summary["cells"]
    items = cell["items"]
    timings: dict[str, float] = cell.get("timings", {})
    first = items[0]["phase"].split("@", 1)[1]

    def items_where(keep: Callable[[dict[str, Any]], bool]) -> float:
        return sum(float(i["seconds"]) for i in items if keep(i))

    def timing(prefix: str) -> float:
        return sum(v for k, v in timings.items() if k.startswith(prefix))

    harness_groups = ("cluster", "upgrade", "workloads", "detectors")
    scenario = [i for i in items if i["scenario"] not in harness_groups]
    hop_item = items_where(lambda i: i["scenario"] == "upgrade")
    hop = timing("hop@")
    notes = timing("release notes")
    phases: Phases = {
        "start-up (CLI, versions, pytest)": summary["started"] - started,
        "source cluster create": items_where(lambda i: i["scenario"] == "cluster" and i["phase"].startswith("create")),
        "scenario setup @source": sum(i["seconds"] for i in scenario if i["phase"] == f"setup@{first}"),
        "workload replay": items_where(lambda i: i["scenario"] == "workloads"),
        "scenario verify @source": sum(i["seconds"] for i in scenario if i["phase"] == f"verify@{first}"),
        "  of which waiting for scheduled runs (CronJob)": schedule_wait(scenario, f"verify@{first}"),
        "snapshots before the hop (wall)": hop_item - hop - notes,
    }
    for key in sorted(timings):
        if key.startswith("detector ") and " before@" in key:
            phases[f"  {key.split(' before@')[0]}"] = timings[key]
    phases["  target dry-run cluster (background)"] = timing("scratch cluster@")
    phases["release notes"] = notes
    phases["hop (playbook)"] = hop
    phases["after hop: health"] = items_where(lambda i: i["scenario"] == "cluster" and i["phase"].startswith("health"))
    phases["after hop: during probes"] = sum(i["seconds"] for i in scenario if i["phase"].startswith("during@"))
    after_verify = [i for i in scenario if i["phase"].startswith("verify@") and i["phase"] != f"verify@{first}"]
    phases["after hop: scenario verify @target"] = sum(i["seconds"] for i in after_verify)
    phases["after hop: detectors"] = items_where(lambda i: i["scenario"] == "detectors")
    for item in items:
        if item["scenario"] == "detectors":
            phases[f"  {item['phase'].split('@')[0]}"] = float(item["seconds"])
    phases["teardown and delete"] = sum(i["seconds"] for i in scenario if i["phase"].startswith("teardown@"))
    phases["teardown and delete"] += items_where(
        lambda i: i["scenario"] == "cluster" and i["phase"].startswith("delete")
    )
    phases["report (summary to exit)"] = ended - summary["finished"]
    phases["total"] = ended - started
    phases["total less the CronJob wait"] = phases["total"] - phases["  of which waiting for scheduled runs (CronJob)"]
    return phases


def schedule_wait(items: list[dict[str, Any]], phase: str) -> float:
    """Seconds the ``phase`` items spent in steps that wait for a CronJob's run: up to a minute,
    set by where in the minute the CronJob was made, so it varies from gate to gate."""
    steps = [s for i in items if i["phase"] == phase for s in i.get("steps") or []]
    return sum(float(s["seconds"]) for s in steps if "CronJob" in s["title"])


def hop_once(provider: LocalProvider, name: str, source: KubeVersion, target: KubeVersion, playbook: bool) -> Phases:
    """One in-place hop on a fresh cluster: its total and, for the Python path, each step."""
    cluster = provider.create(name, source, nodes=2)
    try:
        started = time.monotonic()
        if playbook:
            run = run_playbook("upgrade.yml", {"cluster": name, "to_version": str(target), "provider": "local"})
            total = time.monotonic() - started
            return {"hop, playbook": total, **{f"  task: {e.task}": e.seconds for e in run.events}}
        provider.upgrade(cluster, target)
        total = time.monotonic() - started
        return {"hop, Python path": total, **{f"  step: {t}": s for t, s in provider.last_timings.steps}}
    finally:
        provider.delete(cluster)


def medians(runs: Iterable[Phases]) -> Phases:
    samples: dict[str, list[float]] = {}
    for run in runs:
        for phase, seconds in run.items():
            samples.setdefault(phase, []).append(seconds)
    return {phase: statistics.median(values) for phase, values in samples.items()}


def print_table(title: str, rows: Phases, count: int) -> None:
    print(f"\n{title} (median of {count})")
    width = max((len(p) for p in rows), default=10)
    for phase, seconds in rows.items():
        print(f"  {phase:{width}} {seconds:8.2f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="gate runs (0: none)")
    parser.add_argument("--hop-runs", type=int, default=3, help="hops of each kind (0: none)")
    parser.add_argument("--from", dest="source", help="production version (default: second-newest minor)")
    parser.add_argument("--to", dest="target", help="candidate version (default: newest minor)")
    parser.add_argument("--json", type=Path, help="also write every run's phases here")
    parser.add_argument("--keep-reports", action="store_true", help="keep the gates' reports (their folder is printed)")
    args = parser.parse_args()

    config = ToolchainConfig.from_env()
    older, newer = newest_minors(2)
    source = version_from_flag(args.source, config) if args.source else older
    target = version_from_flag(args.target, config) if args.target else newer
    ensure(source), ensure(target)  # builds stay out of the numbers
    work = Path(tempfile.mkdtemp(prefix="spin-bench-gate-"))
    try:
        return bench(args, source, target, work)
    finally:
        if args.keep_reports:
            print(f"reports: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def bench(args: argparse.Namespace, source: KubeVersion, target: KubeVersion, work: Path) -> int:
    """The gate runs, then the hops, then the tables; reports and the tenant export under ``work``."""
    workloads = write_tenant(work / "workloads")
    raw: dict[str, Any] = {"from": str(source), "to": str(target), "gate": [], "verdicts": [], "hops": []}

    for run in range(args.runs):
        phases, verdict = gate_once(source, target, workloads, work / f"report-{run}")
        raw["gate"].append(phases)
        raw["verdicts"].append(verdict)
        print(f"gate {run + 1}/{args.runs}: {phases['total']:.1f}s, {verdict}", flush=True)
    provider = LocalProvider()
    for run in range(args.hop_runs):
        for playbook in (False, True):
            phases = hop_once(provider, f"bench-hop-{os.getpid()}-{run}", source, target, playbook)
            raw["hops"].append(phases)
            print(
                f"hop {run + 1}/{args.hop_runs}: "
                + ", ".join(f"{k} {v:.1f}s" for k, v in phases.items() if not k.startswith(" ")),
                flush=True,
            )

    print(f"\n{source} -> {target}, local provider")
    if raw["gate"]:
        print_table("one-hop gate, every scenario, a 4-object tenant export", medians(raw["gate"]), args.runs)
        print(f"  verdicts: {sorted(set(raw['verdicts']))}")
    if raw["hops"]:
        python_path = [h for h in raw["hops"] if "hop, Python path" in h]
        through_playbook = [h for h in raw["hops"] if "hop, playbook" in h]
        print_table("in-place hop, 2 nodes", {**medians(python_path), **medians(through_playbook)}, args.hop_runs)
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
