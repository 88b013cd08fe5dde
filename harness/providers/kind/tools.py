"""The programs a kind cluster is driven with: the kind CLI and a kubectl of the cluster's version.

Both come from the toolchain (built from Go modules, cached), never from the host's PATH.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.providers.common.commands import run_tool
from harness.toolchain.components import KIND_VERSION, Component, Product, ProductBuild
from harness.toolchain.sources import ProgressFn
from harness.versions import KubeVersion

if TYPE_CHECKING:
    from harness.toolchain import ToolchainConfig


@dataclass(frozen=True)
class KindTimeouts:
    """Deadlines, in seconds, for kind's own steps and the waits around them."""

    create: float = 600.0
    nodes_ready: float = 180.0
    system_pods: float = 180.0
    node_ready_after_kubelet: float = 180.0
    drain: float = 120.0


def kind_cli(toolchain: ToolchainConfig | None, progress: ProgressFn) -> Path:
    from harness.toolchain.ensure import ensure_product

    build = ProductBuild(Product.KIND, KIND_VERSION)
    return ensure_product(build, [Component.KIND], config=toolchain, progress=progress)[Component.KIND]


def kubectl(version: KubeVersion | str, toolchain: ToolchainConfig | None, progress: ProgressFn) -> Path:
    from harness.toolchain.ensure import ensure_product

    build = ProductBuild(Product.KUBERNETES, str(version))
    return ensure_product(build, [Component.KUBECTL], config=toolchain, progress=progress)[Component.KUBECTL]


def run_kind(kind: Path, args: list[str], *, timeout: float, log: Path) -> None:
    """``kind ARGS`` on the Docker engine; its output goes to ``log``."""
    run_tool(
        [str(kind), *args],
        timeout=timeout,
        what=f"kind {' '.join(args[:2])}",
        env={"KIND_EXPERIMENTAL_PROVIDER": "docker"},
        log=log,
    )


def kubectl_args(kubectl: Path, kubeconfig: Path, *args: str) -> list[str]:
    """``kubectl`` on the cluster of ``kubeconfig``, its discovery cache beside that kubeconfig.

    kubectl's default cache is ``~/.kube/cache``: the harness leaves nothing in the user's home.
    """
    return [str(kubectl), f"--kubeconfig={kubeconfig}", f"--cache-dir={kubeconfig.parent / 'kubectl-cache'}", *args]
