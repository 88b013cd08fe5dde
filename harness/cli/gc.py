"""``spin-harness gc``: remove what runs left behind (clusters whose owner is gone, stray processes)."""

from __future__ import annotations

import argparse


def register(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gc``."""
    p = top.add_parser("gc", help="remove clusters whose owner is gone, and stray processes")
    p.add_argument("--all", action="store_true", help="remove every cluster, kept ones too")
    p.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    p.set_defaults(handler=cmd_gc)


def cmd_gc(args: argparse.Namespace) -> int:
    from harness import gc

    removed = gc.collect(everything=args.all, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for item in removed:
        print(f"{verb} {item.what}: {item.reason}")
    if not removed and not args.quiet:
        print("nothing to collect")
    return 0
