"""``spin-harness toolchain``: build, fetch and list the Kubernetes binaries a cluster runs."""

from __future__ import annotations

import argparse
import json

from harness.cli.version_flag import version_from_flag
from harness.progress import no_progress, notice, progress_display
from harness.toolchain import Component, ToolchainConfig, ensure
from harness.toolchain.components import LOCAL_CLUSTER_COMPONENTS


def register(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``toolchain ensure|ensure-tool|list|versions``."""
    toolchain = top.add_parser("toolchain", help="build, fetch and list Kubernetes binaries").add_subparsers(
        dest="toolchain_command", required=True, metavar="ACTION"
    )
    p = toolchain.add_parser("ensure", help="make the binaries for a version present and verified")
    p.add_argument("version", help="v1.36.3, or 1.36 for its newest patch")
    p.add_argument("--components", help="comma-separated, default: everything a local cluster needs")
    p.add_argument("--source", help="comma-separated source order: dir,build,release")
    p.set_defaults(handler=cmd_toolchain_ensure)
    tools = "helm, kind, k3d, kwok, kwokctl, traefik or pluto"
    p = toolchain.add_parser("ensure-tool", help=f"build or fetch a pinned tool ({tools})")
    p.add_argument("tool", help=tools)
    p.set_defaults(handler=cmd_toolchain_ensure_tool)
    p = toolchain.add_parser("list", help="list cached binaries with their checksums")
    p.add_argument("--json", action="store_true")
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
    version = version_from_flag(args.version, config)
    components = [Component(c) for c in args.components.split(",")] if args.components else LOCAL_CLUSTER_COMPONENTS
    with progress_display(f"toolchain {version}", quiet=args.quiet) as progress:
        tools = ensure(version, components, config=config, progress=progress)
    for component, path in tools.paths.items():
        print(f"{component.value}\t{path}")
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


def cmd_toolchain_versions(args: argparse.Namespace) -> int:
    from harness.toolchain import goproxy

    note = no_progress if args.quiet else notice
    versions = goproxy.newest_minors(args.newest, note=note) if args.newest else goproxy.published_versions()
    print("\n".join(str(v) for v in versions))
    return 0
