"""``spin-harness gate`` and ``repro``: the commands that write a matrix for the user and run it.

The gate walks production to candidate and prints a verdict; repro re-runs one cell of a report
and keeps its cluster.
"""

from __future__ import annotations

import argparse

from harness.cli.run import run_pytest_on_matrix
from harness.cli.version_flag import version_from_flag
from harness.toolchain import ToolchainConfig


def register_gate(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gate``."""
    p = top.add_parser("gate", help="pre-upgrade gate: replay workloads, walk --from to --to, print a verdict")
    p.add_argument("--from", dest="source", required=True, help="production version")
    p.add_argument("--to", dest="target", required=True, help="candidate version")
    p.add_argument("--workloads", action="append", help="an export directory (repeatable)")
    p.add_argument("--scenarios", help="comma-separated scenario names or globs (default: all)")
    p.add_argument("--component", action="append", help="platform component moved with the upgrade: NAME=FROM:TO")
    p.add_argument("--provider", default="local")
    p.add_argument("--max-outage", type=float, default=15.0, help="API outage budget per hop, seconds")
    p.add_argument("--report", default="reports/gate")
    p.set_defaults(handler=cmd_gate)


def register_repro(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``repro``."""
    p = top.add_parser("repro", help="re-run one cell, keep its cluster, print its KUBECONFIG")
    p.add_argument("cell_id", help="the cell id, as in reports: local:v1.36.3>v1.37.2")
    p.add_argument("--matrix", help="the matrix the cell came from (for its scenarios and budget)")
    p.add_argument("--until", help="stop after this phase: create, setup, verify@VERSION, hop@VERSION ...")
    p.add_argument("--report", default="reports/repro", help="report directory (default reports/repro)")
    p.add_argument("--no-keep", action="store_true", help="remove the cluster at the end after all")
    p.set_defaults(handler=cmd_repro)


def cmd_repro(args: argparse.Namespace) -> int:
    """Re-run exactly one cell, keep its cluster, and print how to reach it."""
    import json
    import tempfile
    from pathlib import Path

    from harness.errors import InputError
    from harness.matrix import parse_cell_id

    key = parse_cell_id(args.cell_id)
    matrix = args.matrix
    if matrix is None:
        if key.steps:
            raise InputError(f"{args.cell_id}: platform steps need the matrix file", hint="pass --matrix FILE")
        hops = ", ".join(f'"{v}"' for v in key.versions)
        matrix = str(Path(tempfile.mkdtemp(prefix="spin-repro-")) / "repro.yaml")
        Path(matrix).write_text(
            f"name: repro\nproviders: [{key.provider}]\npaths:\n  - hops: [{hops}]\n"
            + (f"    nodes_lag: {key.nodes_lag}\n" if key.nodes_lag else "")
        )
    status = run_pytest_on_matrix(
        matrix,
        report=args.report,
        cell=key.id,
        provider=None,
        workers=1,
        keep=not args.no_keep,
        extra=[],
        until=args.until,
    )
    summary = Path(args.report) / "summary.json"
    if summary.is_file():
        for cell in json.loads(summary.read_text()).get("cells", []):
            if cell.get("kubeconfig"):
                print(cell["kubeconfig"])
    return status


def cmd_gate(args: argparse.Namespace) -> int:
    """Production-to-candidate gate: one command, a verdict on screen and in Markdown, an exit code."""
    import json
    import tempfile
    from pathlib import Path

    from harness.errors import InputError
    from harness.report.verdict import render_verdict

    config = ToolchainConfig.from_env()
    source = version_from_flag(args.source, config, field="--from")
    target = version_from_flag(args.target, config, field="--to")
    work = Path(tempfile.mkdtemp(prefix="spin-gate-"))
    lines = ["name: gate", f"providers: [{args.provider}]", "paths:", f'  - from: "{source}"', f'    to: "{target}"']
    includes = [s.strip() for s in args.scenarios.split(",")] if args.scenarios else ["*"]
    lines += ["scenarios:", f"  include: {json.dumps(includes)}"]
    if args.workloads:
        lines.append("workloads:")
        for index, directory in enumerate(args.workloads):
            if not Path(directory).is_dir():
                raise InputError(f"--workloads: {directory} is not a directory", hint="give an export directory")
            link = work / f"workloads-{index}"
            link.symlink_to(Path(directory).resolve())
            lines.append(f"  - {link.name}")
    if args.component:
        lines += ["platform:", "  components:"]
        steps = []
        for spec in args.component:
            name, _, versions = spec.partition("=")
            old, _, new = versions.partition(":")
            if not (name and old and new):
                raise InputError(f"--component: {spec!r} is not NAME=FROM:TO", hint="e.g. platform-crd=v1:v2")
            lines.append(f'    {name}: {{versions: ["{old}", "{new}"]}}')
            steps.append(f'    - {{at_hop: 1, component: {name}, to: "{new}", with_kubernetes: true}}')
        lines += ["  steps:", *steps]
    lines += ["probes:", "  budget:", f"    api_max_outage_seconds: {args.max_outage}"]
    lines += [f"    webhook_max_outage_seconds: {args.max_outage}", "    min_availability: 0.05"]
    matrix = work / "gate.yaml"
    matrix.write_text("\n".join(lines) + "\n")
    status = run_pytest_on_matrix(
        str(matrix), report=args.report, cell=None, provider=None, workers=1, keep=False, extra=[], terminal=False
    )
    summary_path = Path(args.report) / "summary.json"
    if not summary_path.is_file():
        return 2
    summary = json.loads(summary_path.read_text())
    (Path(args.report) / "verdict.md").write_text(render_verdict(summary, markdown=True))
    print(render_verdict(summary))
    print(f"report: {Path(args.report) / 'index.html'}  verdict: {Path(args.report) / 'verdict.md'}")
    return status
