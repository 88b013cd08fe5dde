"""The ``spin-harness`` command line.

Thin by design: it parses arguments, calls the same modules the pytest plugin uses, and maps
errors to exit codes: 0 success, 1 breaking findings (``run``/``gate``), 2 bad input or a
harness failure (the message says what and how to fix it), 130 interrupted.

Each command group lives in its own module, its arguments beside its handler; this module only
assembles the parser (in the order ``--help`` lists the commands) and runs the chosen handler.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence

from harness import __version__
from harness.cli import cluster, gate, gc, images, matrix, report, run, toolchain, workloads
from harness.errors import HarnessError
from harness.progress import quiet_by_default

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spin-harness",
        description="Upgrade and integration testing for multi-tenant Kubernetes platforms.",
    )
    parser.add_argument("--version", action="version", version=f"spin-harness {__version__}")
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=quiet_by_default(),
        help="no progress output (also SPIN_HARNESS_QUIET=1)",
    )
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    toolchain.register(top)
    cluster.register(top)
    images.register(top)
    matrix.register(top)
    run.register(top)
    gate.register_gate(top)
    workloads.register_export(top)
    workloads.register_replay(top)
    gate.register_repro(top)
    report.register(top)
    gc.register(top)
    return parser


def _terminate_cleanly(signum: int, _frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every cleanup (half-made clusters, probes) runs."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate_cleanly)
    handler: Handler = args.handler
    try:
        return handler(args)
    except HarnessError as exc:
        fix = f" (fix: {exc.hint})" if exc.hint else ""
        print(f"spin-harness: error: {exc.message}{fix}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("spin-harness: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
