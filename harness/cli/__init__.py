"""The ``spin-harness`` command line.

Thin by design: it parses arguments, calls the same modules the pytest plugin uses, and maps
errors to exit codes: 0 success, 1 breaking findings (``run``/``gate``), 2 bad input or a
harness failure (the message says what and how to fix it), 130 interrupted.

Each command group lives in its own module, its arguments beside its handler; this module only
assembles the parser (in the order ``--help`` lists the commands) and runs the chosen handler.
A command line that names its command imports that command's module alone: the upgrade
playbook starts ``spin-harness`` once per task, and on a loaded machine every module imported
for nothing costs seconds.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Callable, Sequence

from harness import __version__
from harness.errors import HarnessError
from harness.progress import quiet_by_default

Handler = Callable[[argparse.Namespace], int]

#: Every top-level command, in ``--help`` order, as the ``harness.cli`` module and the function
#: that adds it to the parser.
COMMANDS: dict[str, tuple[str, str]] = {
    "toolchain": ("toolchain", "register"),
    "cluster": ("cluster", "register"),
    "images": ("images", "register"),
    "matrix": ("matrix", "register"),
    "run": ("run", "register"),
    "gate": ("gate", "register_gate"),
    "export": ("workloads", "register_export"),
    "replay": ("workloads", "register_replay"),
    "repro": ("gate", "register_repro"),
    "report": ("report", "register"),
    "gc": ("gc", "register"),
    "doctor": ("doctor", "register"),
}


def named_command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names (its first word that is not an option), when it is one."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in COMMANDS else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with ``only`` the parser of that one command (its module alone imported)."""
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
    for name, (module, register) in COMMANDS.items():
        if only is None or name == only:
            getattr(importlib.import_module(f"harness.cli.{module}"), register)(top)
    return parser


def _terminate_cleanly(signum: int, _frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every cleanup (half-made clusters, probes) runs."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(named_command(argv)).parse_args(argv)
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
