"""The toolchain: Kubernetes, etcd and kwok binaries per version, built or fetched, then cached.

``Toolchain`` and ``ToolchainConfig`` are imported from ``harness.toolchain.ensure`` on first
use, with the build, release and module-proxy sources, so a command that only reads a
cluster's record (a playbook's listing or plan) does not load them. ``ensure`` itself is
imported from its module.
"""

from typing import TYPE_CHECKING

from harness.lazy import on_first_use
from harness.toolchain.components import LOCAL_CLUSTER_COMPONENTS, Component, Product

if TYPE_CHECKING:
    from harness.toolchain.ensure import Toolchain, ToolchainConfig

__getattr__ = on_first_use(__name__, {"Toolchain": "ensure", "ToolchainConfig": "ensure"})


__all__ = ["LOCAL_CLUSTER_COMPONENTS", "Component", "Product", "Toolchain", "ToolchainConfig"]
