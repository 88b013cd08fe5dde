"""``spin-harness toolchain``: build, fetch and list the Kubernetes binaries a cluster runs."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

from harness.cli.version_flag import version_from_flag
from harness.errors import InputError
from harness.progress import no_progress, notice, progress_display, stderr_console
from harness.toolchain import Component, ToolchainConfig
from harness.toolchain.build_times import BuildLog, BuildRun
from harness.toolchain.components import KIND_NODE_IMAGE_COMPONENTS, LOCAL_CLUSTER_COMPONENTS
from harness.toolchain.ensure import ensure

#: ``toolchain ensure --for``: the binaries each use of a version needs.
COMPONENT_SETS: dict[str, tuple[Component, ...]] = {
    "local": LOCAL_CLUSTER_COMPONENTS,
    "kind": (*LOCAL_CLUSTER_COMPONENTS, *KIND_NODE_IMAGE_COMPONENTS),
}


def register(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``toolchain ensure|ensure-tool|list|versions``."""
    toolchain = top.add_parser("toolchain", help="build, fetch and list Kubernetes binaries").add_subparsers(
        dest="toolchain_command", required=True, metavar="ACTION"
    )
    p = toolchain.add_parser("ensure", help="make the binaries for a version present and verified")
    p.add_argument("version", help="v1.36.3, or 1.36 for its newest patch")
    p.add_argument("--components", help="comma-separated (not with --for), default: what --for names")
    p.add_argument(
        "--for",
        dest="use",
        choices=sorted(COMPONENT_SETS),
        help="local: what a local cluster runs (default); kind: that and what its kind node image is made of "
        "(the Kubernetes commands of both in one go build)",
    )
    p.add_argument("--source", help="comma-separated source order: dir,build,release")
    p.set_defaults(handler=cmd_toolchain_ensure)
    tools = "helm, kind, k3d, kwok, kwokctl, traefik or pluto"
    p = toolchain.add_parser("ensure-tool", help=f"build or fetch a pinned tool ({tools})")
    p.add_argument("tool", help=tools)
    p.set_defaults(handler=cmd_toolchain_ensure_tool)
    p = toolchain.add_parser("list", help="list cached binaries with their checksums")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--builds", action="store_true", help="list the Go builds instead: minutes, and packages the cache held"
    )
    p.set_defaults(handler=cmd_toolchain_list)
    p = toolchain.add_parser("versions", help="Kubernetes versions published on the Go module proxy")
    p.add_argument("--newest", type=int, metavar="N", help="only the newest patch of the N newest minors")
    p.set_defaults(handler=cmd_toolchain_versions)


def cmd_toolchain_ensure(args: argparse.Namespace) -> int:
    config = ToolchainConfig.from_env()
    if args.source:
        config = ToolchainConfig(
            sources=tuple(args.source.split(",")),
            bin_dir=config.bin_dir,
            release_urls=config.release_urls,
            root=config.root,
        )
    if args.components and args.use:
        raise InputError(
            "toolchain ensure: --components and --for both name the binaries to build",
            hint="give one of --components and --for",
        )
    version = version_from_flag(args.version, config)
    components = (
        [Component(c) for c in args.components.split(",")] if args.components else COMPONENT_SETS[args.use or "local"]
    )
    started = time.time()
    with progress_display(f"toolchain {version}", quiet=args.quiet) as progress:
        tools = ensure(version, components, config=config, progress=progress)
    for component, path in tools.paths.items():
        print(f"{component.value}\t{path}")
    if not args.quiet:
        for run in BuildLog(config.root).since(started):
            stderr_console.print(f"built {run.describe()}")
    return 0


def cmd_toolchain_ensure_tool(args: argparse.Namespace) -> int:
    from harness.toolchain.tools import ensure_tool

    with progress_display(f"toolchain {args.tool}", quiet=args.quiet) as progress:
        path = ensure_tool(args.tool, progress=progress)
    print(f"{args.tool}\t{path}")
    return 0


def cmd_toolchain_list(args: argparse.Namespace) -> int:
    from harness.toolchain.manifest import Manifest

    root = ToolchainConfig.from_env().root
    if args.builds:
        return _list_builds(BuildLog(root).runs(), as_json=args.json)
    rows = []
    for product_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "build") if root.is_dir() else []:
        for version_dir in sorted(p for p in product_dir.iterdir() if p.is_dir()):
            manifest = Manifest.load(version_dir, product_dir.name, version_dir.name)
            for name, rec in sorted(manifest.components.items()):
                rows.append((product_dir.name, version_dir.name, name, rec.size, rec.source, rec.sha256[:12]))
    if args.json:
        print(
            json.dumps(
                [
                    dict(zip(("product", "version", "component", "size", "source", "sha256"), r, strict=True))
                    for r in rows
                ],
                indent=2,
            )
        )
        return 0
    if not rows:
        print(f"no binaries cached under {root}")
        return 0
    for product, version, name, size, source, digest in rows:
        print(f"{product:11} {version:9} {name:24} {size / 2**20:7.1f} MiB  {source:8} sha256:{digest}")
    return 0


def _list_builds(runs: list[BuildRun], *, as_json: bool) -> int:
    """One line per Go build: product, version, minutes, packages compiled of those needed, cache state."""
    if as_json:
        print(json.dumps([{**dataclasses.asdict(r), "cache": r.cache} for r in runs], indent=2))
        return 0
    if not runs:
        print("no Go builds recorded")
        return 0
    print(f"{'product':11} {'version':9} {'minutes':>7} {'compiled':>9} {'needed':>7}  {'cache':13} components")
    for run in runs:
        needed = str(run.packages) if run.packages else "?"
        print(
            f"{run.product:11} {run.version:9} {run.seconds / 60:7.1f} {run.compiled:9} {needed:>7}  "
            f"{run.cache:13} {','.join(run.components)}"
        )
    return 0


def cmd_toolchain_versions(args: argparse.Namespace) -> int:
    from harness.toolchain import goproxy

    note = no_progress if args.quiet else notice
    versions = goproxy.newest_minors(args.newest, note=note) if args.newest else goproxy.published_versions()
    print("\n".join(str(v) for v in versions))
    return 0
