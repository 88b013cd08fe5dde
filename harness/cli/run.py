"""``spin-harness run``, and the one way every command runs a matrix: as pytest items.

``gate`` and ``repro`` call :func:`run_pytest_on_matrix` too, so all three map pytest's exit
status and the run's verdict to the harness's exit codes the same way
(``harness.run.blame.exit_code``): 0 passed, 1 the platform failed, 2 the harness did.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any

from harness.progress import ProgressFn, progress_display


def register(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``run``."""
    p = top.add_parser(
        "run",
        help="run a matrix: every cell, scenario and hop; exit 1 on breaking findings or broken tenant "
        "promises, 2 when the harness failed (a cell errored, or nothing ran)",
    )
    p.add_argument("matrix")
    p.add_argument("--report", default="reports/latest", help="report directory (default reports/latest)")
    p.add_argument("--cell", help="run only this cell id")
    p.add_argument("--provider", help="run only this provider's cells")
    p.add_argument("-n", "--workers", type=int, default=1, help="cells in parallel (pytest-xdist)")
    p.add_argument("--keep-clusters", action="store_true", help="keep each cell's cluster and print KUBECONFIG")
    p.add_argument(
        "--inject-fault",
        action="append",
        default=[],
        metavar="SPEC",
        help=(
            "kill|stop:COMPONENT:WHEN[:FOR][@CELL-GLOB] during every hop (repeatable): WHEN is seconds"
            " into the hop or replaced+SECONDS, FOR how long a stop lasts"
        ),
    )
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments after --")
    p.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from harness.run.faults import Fault

    for spec in args.inject_fault:
        Fault.parse(spec)  # bad input: exit 2 before anything starts
    # pytest's own output shares the terminal: plain lines, never a live display.
    with progress_display(f"run {args.matrix}", quiet=args.quiet, live=False) as progress:
        return run_pytest_on_matrix(
            args.matrix,
            report=args.report,
            cell=args.cell,
            provider=args.provider,
            workers=args.workers,
            keep=args.keep_clusters,
            extra=[*(f"--inject-fault={spec}" for spec in args.inject_fault), *args.pytest_args],
            progress=progress,
        )


def run_pytest_on_matrix(
    matrix: str,
    *,
    report: str,
    cell: str | None,
    provider: str | None,
    workers: int,
    keep: bool,
    extra: list[str],
    until: str | None = None,
    terminal: bool = True,
    progress: ProgressFn | None = None,
    workloads_read: bool = False,
) -> int:
    """Run a matrix as pytest items; map pytest's exit status to the harness's exit codes.

    ``progress`` (a command's display) is told each item as it starts, and, when the cells run
    in this process (no ``workers``), the steps inside them (``harness.run.progress_plugin``).
    """
    from pathlib import Path

    import pytest

    from harness.matrix import load_matrix
    from harness.paths import resolve_matrix_argument
    from harness.run.blame import exit_code
    from harness.toolchain.goproxy import published_versions

    matrix = str(resolve_matrix_argument(matrix))  # `matrices/smoke.yaml` from any directory
    if progress is not None:
        progress(f"loading {matrix} (the published versions from the Go module proxy)")
    loaded = load_matrix(Path(matrix), published_versions())  # bad input: exit 2 with file/line before pytest
    if loaded.workloads and not workloads_read:  # the gate has read (and rendered) them already
        from harness.workloads.read import prepare_helm, read_workloads

        # Read (and render) before pytest starts: unreadable input is a clear error naming the
        # file and document, not an internal error from inside the plugin's configure step.
        prepare_helm(loaded.workloads, quiet=progress is None)
        read_workloads(loaded.workloads)
    if loaded.allowlist is not None:
        from harness.allowlist import load_allowlist

        load_allowlist(loaded.allowlist)
    report_dir = Path(report)
    report_dir.mkdir(parents=True, exist_ok=True)
    # A run that dies before writing its summary must not be judged by the last run's.
    (report_dir / "summary.json").unlink(missing_ok=True)
    args = [
        matrix,
        f"--matrix={matrix}",
        f"--report-dir={report_dir}",
        f"--junitxml={report_dir / 'junit.xml'}",
        f"--alluredir={report_dir / 'allure-results'}",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "-o",
        "junit_family=xunit2",
    ]
    # The gate prints its own verdict; pytest's progress and summary would bury it.
    args += ["-rfEs", "--tb=line", "-q"] if terminal else ["-p", "no:terminal"]
    if cell:
        args.append(f"--cell={cell}")
    if provider:
        args.append(f"--provider={provider}")
    if keep:
        args.append("--keep-clusters")
    if until:
        args.append(f"--until={until}")
    if workers > 1:
        args += ["-n", str(workers), "--dist", "loadgroup"]
    plugins: list[object] = []
    if progress is not None:
        from harness.run.progress_plugin import ProgressPlugin

        plugins.append(ProgressPlugin(progress))
    status = int(pytest.main([*args, *extra], plugins=plugins))
    summary = _summary(report_dir)
    verdict = str(summary["verdict"]) if summary and summary.get("verdict") else None
    if verdict == "empty":
        print("spin-harness: nothing ran: every cell was skipped (the reasons are listed above)", file=sys.stderr)
    elif verdict == "error" and summary is not None and terminal:
        errors = summary.get("errors", [])
        print(f"spin-harness: ERROR: the harness failed at {len(errors)} step(s), exit 2:", file=sys.stderr)
        for error in errors:
            print(f"  {error['cell']} {error['step']}: [{error['cause']}] {error['reason']}", file=sys.stderr)
    return exit_code(status, verdict)


def _summary(report_dir: pathlib.Path) -> dict[str, Any] | None:
    """The run's ``summary.json``; ``None`` when it wrote none (it stopped short)."""
    try:
        summary = json.loads((report_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None
