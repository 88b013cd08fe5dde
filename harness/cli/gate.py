"""``spin-harness gate`` and ``repro``: the commands that build a matrix for the user and run it.

The gate walks production to candidate and prints a verdict; repro re-runs one cell of a report
and keeps its cluster. Both build a ``MatrixSpec`` in Python, so the validators that check a
hand-written matrix check theirs, and write it into the report directory: the repro command a
failed cell records (``--matrix REPORT/matrix.yaml``) keeps working as long as the report does,
and no temporary directory is left behind.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from harness.cli.run import run_pytest_on_matrix
from harness.cli.version_flag import version_from_flag
from harness.errors import InputError
from harness.matrix.dump import write_matrix
from harness.matrix.model import CellKey
from harness.matrix.spec import (
    ComponentSpec,
    MatrixSpec,
    PathSpec,
    PlatformSpec,
    PlatformStepSpec,
    ProbeBudget,
    ProbesSpec,
    ScenarioSelectionSpec,
    WorkloadSpec,
)
from harness.progress import progress_display
from harness.providers import DEFAULT_PROVIDER
from harness.toolchain import ToolchainConfig
from harness.versions import KubeVersion
from harness.workloads.helm import is_chart
from harness.workloads.manifest import WorkloadInput

#: The matrix a gate or repro run was built from, inside its report directory.
MATRIX_NAME = "matrix.yaml"

#: The gate checks outage seconds, not availability: a short walk has few probe samples.
GATE_MIN_AVAILABILITY = 0.05


def register_gate(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gate``."""
    p = top.add_parser(
        "gate",
        help="pre-upgrade gate: replay workloads, walk --from to --to, print a verdict "
        "(exit 0 PASS, 1 FAIL: the upgrade breaks something, 2 ERROR: the harness failed)",
    )
    p.add_argument("--from", dest="source", required=True, help="production version")
    p.add_argument("--to", dest="target", required=True, help="candidate version")
    p.add_argument(
        "--workloads",
        action="append",
        help="tenant manifests: a folder (.yaml/.yml/.json, Lists), a file, or a Helm chart folder (repeatable)",
    )
    p.add_argument("--values", action="append", default=[], metavar="FILE", help="values file for the chart(s)")
    p.add_argument("--scenarios", help="comma-separated scenario names or globs (default: all)")
    p.add_argument("--component", action="append", help="platform component moved with the upgrade: NAME=FROM:TO")
    p.add_argument("--provider", default=DEFAULT_PROVIDER)
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
    from harness.matrix import parse_cell_id

    key = parse_cell_id(args.cell_id)
    matrix = args.matrix
    if matrix is None:
        if key.steps:
            raise InputError(f"{args.cell_id}: platform steps need the matrix file", hint="pass --matrix FILE")
        matrix = str(write_matrix(repro_matrix(key), Path(args.report) / MATRIX_NAME))
    with progress_display(f"repro {key.id}", quiet=args.quiet, live=False) as progress:
        status = run_pytest_on_matrix(
            matrix,
            report=args.report,
            cell=key.id,
            provider=None,
            workers=1,
            keep=not args.no_keep,
            extra=[],
            until=args.until,
            progress=progress,
        )
    summary = Path(args.report) / "summary.json"
    if summary.is_file():
        for cell in json.loads(summary.read_text()).get("cells", []):
            if cell.get("kubeconfig"):
                print(cell["kubeconfig"])
    return status


def repro_matrix(key: CellKey) -> MatrixSpec:
    """A one-cell matrix walking exactly the versions a cell id names (its steps need the real matrix)."""
    with _flag(key.id):
        path = PathSpec(hops=[str(v) for v in key.versions], nodes_lag=key.nodes_lag)
        return MatrixSpec(name="repro", providers=[key.provider], paths=[path])


def cmd_gate(args: argparse.Namespace) -> int:
    """Production-to-candidate gate: one command, a verdict on screen and in Markdown, an exit code
    (``harness.run.blame``: 2 and ERROR when the harness, not the platform, failed)."""
    from harness.report.verdict import render_verdict
    from harness.workloads.read import prepare_helm, read_workloads, with_values

    config = ToolchainConfig.from_env()
    # Versions first: a bad --from/--to is reported before any chart is built or rendered.
    with progress_display("gate", quiet=args.quiet) as progress:
        progress(f"resolving {args.source} and {args.target}")
        source = version_from_flag(args.source, config, field="--from")
        target = version_from_flag(args.target, config, field="--to")
    inputs = with_values([_workload_path(p) for p in args.workloads or []], _values(args.values), "--values")
    prepare_helm(inputs, quiet=args.quiet)
    # Read (and render) now: a file that cannot be read fails before any cluster starts.
    found = read_workloads(inputs)
    for note in found.notes():
        print(f"workloads: {note}")
    if inputs and not found.manifests:
        # Likely a wrong path: say so, a gate that replayed no tenant object must not read as a pass on them.
        print(f"workloads: no Kubernetes object in {', '.join(str(i) for i in inputs)}: only the scenarios are checked")
    report = Path(args.report)
    # The verdict goes to stdout once the display has closed; progress only ever to stderr.
    with progress_display("gate", quiet=args.quiet) as progress:
        spec = gate_matrix(
            source,
            target,
            provider=args.provider,
            scenarios=[s.strip() for s in args.scenarios.split(",")] if args.scenarios else ["*"],
            workloads=inputs,
            components=args.component or [],
            max_outage=args.max_outage,
        )
        matrix = write_matrix(spec, report / MATRIX_NAME)
        status = run_pytest_on_matrix(
            str(matrix),
            report=args.report,
            cell=None,
            provider=None,
            workers=1,
            keep=False,
            extra=[],
            terminal=False,
            progress=progress,
            workloads_read=True,
        )
    summary_path = report / "summary.json"
    if not summary_path.is_file():
        return 2
    summary = json.loads(summary_path.read_text())
    (report / "verdict.md").write_text(render_verdict(summary, markdown=True))
    print(render_verdict(summary))
    for cell in summary.get("cells", []):
        if cell.get("repro"):
            print(f"reproduce {cell['id']}: {cell['repro']}")
    print(f"report: {report / 'index.html'}  verdict: {report / 'verdict.md'}")
    return status


def gate_matrix(
    source: KubeVersion,
    target: KubeVersion,
    *,
    provider: str,
    scenarios: Sequence[str],
    workloads: Sequence[WorkloadInput],
    components: Sequence[str],
    max_outage: float,
) -> MatrixSpec:
    """The gate's one-path matrix; a bad flag value is an ``InputError`` naming the flag."""
    with _flag("--max-outage"):
        budget = ProbeBudget(
            api_max_outage_seconds=max_outage,
            webhook_max_outage_seconds=max_outage,
            min_availability=GATE_MIN_AVAILABILITY,
        )
    with _flag("--scenarios"):
        selection = ScenarioSelectionSpec(include=list(scenarios))
    platform = _platform(components)
    with _flag("--provider"):
        return MatrixSpec(
            name="gate",
            providers=[provider],
            paths=[PathSpec.between(str(source), str(target))],
            scenarios=selection,
            probes=ProbesSpec(budget=budget),
            platform=platform,
            workloads=[_workload_spec(entry) for entry in workloads],
        )


def _workload_path(text: str) -> Path:
    """A ``--workloads`` path, absolute so the written matrix works from anywhere."""
    path = Path(text)
    if not path.exists():
        raise InputError(
            f"--workloads: {text} does not exist", hint="give an export folder, a manifest file or a chart folder"
        )
    return path.resolve()


def _values(texts: Sequence[str]) -> list[Path]:
    return [Path(text).resolve() for text in texts]


def _workload_spec(entry: WorkloadInput) -> WorkloadSpec:
    """The matrix entry for one input: a plain path, or a chart with its values files."""
    with _flag("--workloads"):
        if entry.values or is_chart(entry.path):
            return WorkloadSpec(chart=str(entry.path), values=[str(v) for v in entry.values])
        return WorkloadSpec(path=str(entry.path))


def _platform(specs: Sequence[str]) -> PlatformSpec:
    """``--component NAME=FROM:TO`` values: each component starts on FROM and moves to TO with the upgrade."""
    components: dict[str, ComponentSpec] = {}
    steps: list[PlatformStepSpec] = []
    with _flag("--component"):
        for spec in specs:
            name, _, versions = spec.partition("=")
            old, _, new = versions.partition(":")
            if not (name and old and new):
                raise InputError(f"--component: {spec!r} is not NAME=FROM:TO", hint="e.g. platform-crd=v1:v2")
            if name in components:
                raise InputError(f"--component: {name} is given twice", hint="give each component once")
            components[name] = ComponentSpec(versions=[old, new])
            steps.append(PlatformStepSpec(at_hop=1, component=name, to=new, with_kubernetes=True))
        return PlatformSpec(components=components, steps=steps)


@contextmanager
def _flag(name: str) -> Iterator[None]:
    """Turn a validation error from building part of a matrix into an ``InputError`` naming ``name``."""
    try:
        yield
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        context = first.get("ctx")
        hint = context.get("hint") if isinstance(context, dict) else None
        raise InputError(f"{name}: {first['msg']}", hint=hint) from None
