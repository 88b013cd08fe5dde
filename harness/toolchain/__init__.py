"""The toolchain: Kubernetes, etcd and kwok binaries per version, built or fetched, then cached."""

from harness.toolchain.components import LOCAL_CLUSTER_COMPONENTS, Component, Product
from harness.toolchain.ensure import Toolchain, ToolchainConfig, ensure

__all__ = ["LOCAL_CLUSTER_COMPONENTS", "Component", "Product", "Toolchain", "ToolchainConfig", "ensure"]
