"""``spin-harness doctor``: check what runs need and print the command that fixes what is missing."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.text import Text


def register(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``doctor``."""
    p = top.add_parser("doctor", help="check this machine for what runs need; exit 1 if a required item is missing")
    p.add_argument("--json", action="store_true", help="the checks as JSON")
    p.set_defaults(handler=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    from harness.doctor import exit_code, render, run_checks

    results = run_checks()
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
        return exit_code(results)
    console = Console(highlight=False)
    styles = {"OK": "green", "MISSING": "red"}
    for line in render(results):
        text = Text(line)
        word = line.split(maxsplit=1)[0]
        if word in styles:
            text.stylize(styles[word], 0, len(word))
        console.print(text, soft_wrap=True)
    return exit_code(results)
