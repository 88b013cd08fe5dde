"""``spin-harness export`` and ``replay``: capture tenant workloads from a cluster and apply them to another."""

from __future__ import annotations

import argparse


def register_export(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``export``."""
    p = top.add_parser("export", help="capture tenant workloads from a live cluster as clean manifests")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--context")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--namespaces", help="comma-separated namespaces")
    who.add_argument("--all-tenants", action="store_true", help="every tenant namespace (the default)")
    p.add_argument("--out", required=True, help="a new directory")
    p.set_defaults(handler=cmd_export)


def register_replay(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``replay``."""
    p = top.add_parser("replay", help="apply an export (or any manifests) to a cluster in dependency order")
    p.add_argument(
        "inputs", nargs="+", metavar="PATH", help="manifest files, folders (.yaml/.yml/.json, Lists) or Helm charts"
    )
    p.add_argument(
        "--values", action="append", default=[], metavar="FILE", help="values file for the chart(s) given (repeatable)"
    )
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--dry-run", action="store_true", help="server-side dry-run: report what the server rejects")
    p.set_defaults(handler=cmd_replay)


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.workloads.export import export_workloads

    namespaces = args.namespaces.split(",") if args.namespaces else None
    index = export_workloads(Path(args.kubeconfig), Path(args.out), namespaces=namespaces, context=args.context)
    total = sum(len(entries) for entries in index.namespaces.values())
    print(f"exported {total} manifests from {len(index.namespaces)} namespace(s) to {args.out}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.workloads.read import prepare_helm, read_workloads, with_values
    from harness.workloads.replay import apply_manifests, ordered

    inputs = with_values([Path(p) for p in args.inputs], [Path(v) for v in args.values], "--values")
    prepare_helm(inputs, quiet=args.quiet)
    found = read_workloads(inputs)
    for note in found.notes():
        print(note)
    results = apply_manifests(Path(args.kubeconfig), ordered(found.manifests), dry_run=args.dry_run)
    failed = [r for r in results if not r.ok]
    for result in results:
        for text in result.warnings:
            print(f"WARNING {result.manifest.label} ({result.manifest.source}): {text}")
    for result in failed:
        print(f"REJECTED {result.manifest.label} ({result.manifest.where}): {result.message}")
    print(
        f"{len(results) - len(failed)} applied, {len(failed)} rejected"
        + (" (server-side dry-run)" if args.dry_run else "")
    )
    return 1 if failed else 0
