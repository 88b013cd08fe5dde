"""``spin-harness matrix``: inspect a matrix's cells and export them as a CI pipeline."""

from __future__ import annotations

import argparse


def register(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``matrix show|export``."""
    matrix = top.add_parser("matrix", help="inspect upgrade-path matrices").add_subparsers(
        dest="matrix_command", required=True, metavar="ACTION"
    )
    p = matrix.add_parser("show", help="print the cells a matrix expands to")
    p.add_argument("file")
    p.set_defaults(handler=cmd_matrix_show)
    p = matrix.add_parser("export", help="write a CI pipeline with one job per cell")
    p.add_argument("file")
    p.add_argument("--format", required=True, choices=["github", "gitlab"])
    p.add_argument("--out", help="write here instead of stdout")
    p.set_defaults(handler=cmd_matrix_export)


def cmd_matrix_show(args: argparse.Namespace) -> int:
    from harness.matrix import show
    from harness.paths import resolve_matrix_argument
    from harness.toolchain.goproxy import published_versions

    print(show(resolve_matrix_argument(args.file), published_versions()))
    return 0


def cmd_matrix_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.ci.export import export_pipeline
    from harness.matrix import load_matrix
    from harness.paths import resolve_matrix_argument
    from harness.toolchain.goproxy import published_versions

    matrix = load_matrix(resolve_matrix_argument(args.file), published_versions())
    text = export_pipeline(matrix, args.file, args.format)
    if args.out:
        Path(args.out).write_text(text)
        print(args.out)
    else:
        print(text, end="")
    return 0
