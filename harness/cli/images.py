"""``spin-harness images``: build node images offline, before any cluster needs them."""

from __future__ import annotations

import argparse
import time

from harness.cli.version_flag import version_from_flag
from harness.progress import progress_display, stderr_console
from harness.toolchain import ToolchainConfig


def register(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``images build|roots``."""
    images = top.add_parser("images", help="build node images offline").add_subparsers(
        dest="images_command", required=True, metavar="ACTION"
    )
    p = images.add_parser("build", help="build (or find) the node image of a version")
    p.add_argument("--provider", default="kind", choices=["kind"])
    p.add_argument("--version", required=True, help="v1.36.3, or 1.36 for its newest patch")
    p.add_argument("--rebuild", action="store_true", help="build even when an image of the same inputs exists")
    p.set_defaults(handler=cmd_images_build)
    p = images.add_parser(
        "roots",
        help="make the Debian roots the node and webhook images are built on (debootstrap, cached; no Docker engine)",
    )
    p.set_defaults(handler=cmd_images_roots)


def cmd_images_build(args: argparse.Namespace) -> int:
    from harness.images.kind_node import build_node_image
    from harness.images.webhook_image import ensure_webhook_image
    from harness.providers.kind import KindProvider
    from harness.providers.kind.ingress import ensure_image as ensure_ingress_image

    config = ToolchainConfig.from_env()
    version = version_from_flag(args.version, config)
    with progress_display(f"kind node image {version}", quiet=args.quiet) as progress:
        image = build_node_image(version, config=config, progress=progress, rebuild=args.rebuild)
        started = time.monotonic()
        webhook = ensure_webhook_image(progress)
        webhook_seconds = time.monotonic() - started
        # Traefik (built from Go modules the first time) is made now too, unless clusters go
        # without it (SPIN_HARNESS_KIND_INGRESS=0): cluster creation then only loads it.
        started = time.monotonic()
        ingress = ensure_ingress_image(config, progress) if KindProvider(toolchain=config).ingress else None
        ingress_seconds = time.monotonic() - started
    print(image.reference)
    if not args.quiet:
        verb = "built" if image.built else "found"
        stderr_console.print(
            f"{verb} {image.reference} in {image.seconds:.0f}s; preloaded: {', '.join(image.preloaded)}"
        )
        stderr_console.print(f"in-cluster webhook image {webhook} ({webhook_seconds:.0f}s), loaded at cluster creation")
        if ingress:
            stderr_console.print(
                f"ingress controller image {ingress} ({ingress_seconds:.0f}s), loaded at cluster creation"
            )
    return 0


def cmd_images_roots(args: argparse.Namespace) -> int:
    """Only the Debian roots: network and disk work that can run while Go builds keep the cores busy."""
    from harness.images import rootfs
    from harness.images.webhook_image import python_root

    with progress_display("Debian roots", quiet=args.quiet) as progress:
        for spec in (rootfs.node_root(), python_root()):
            print(rootfs.ensure_root(spec, progress=progress))
    return 0
