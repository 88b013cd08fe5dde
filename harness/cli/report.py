"""``spin-harness report``: rebuild or merge the reports a run wrote."""

from __future__ import annotations

import argparse


def register(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``report html|merge``."""
    report = top.add_parser("report", help="build reports from a run's summary.json").add_subparsers(
        dest="report_command", required=True, metavar="ACTION"
    )
    p = report.add_parser("html", help="(re)build index.html in a report directory")
    p.add_argument("directory")
    p.set_defaults(handler=cmd_report_html)
    p = report.add_parser("merge", help="merge per-cell report directories into one report")
    p.add_argument("directories", nargs="+")
    p.add_argument("--out", required=True)
    p.set_defaults(handler=cmd_report_merge)


def cmd_report_html(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.errors import InputError
    from harness.report.html import write_html

    directory = Path(args.directory)
    if not (directory / "summary.json").is_file():
        raise InputError(f"{directory}: no summary.json here", hint="give the --report directory of a run")
    print(write_html(directory))
    return 0


def cmd_report_merge(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.report.merge import merge_reports

    out = merge_reports([Path(d) for d in args.directories], Path(args.out))
    print(out / "index.html")
    return 0
