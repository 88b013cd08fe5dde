"""Tools whose version does not follow a Kubernetes version: one call to get a verified binary.

kind, k3d, Traefik, Helm, pluto and kwokctl (peers a benchmark measures against) are each pinned
once (``components.py``); ``ensure_tool`` builds or fetches one through the same cache, lock,
checksums and version check as the Kubernetes binaries (``ensure_product``), so the first
caller builds and every later one reuses it.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import ToolchainError
from harness.toolchain.components import (
    HELM_VERSION,
    K3D_VERSION,
    KIND_VERSION,
    KWOK_VERSION,
    KWOKCTL_VERSION,
    PLUTO_VERSION,
    TRAEFIK_VERSION,
    Component,
    ProductBuild,
)
from harness.toolchain.ensure import ToolchainConfig, ensure_product
from harness.toolchain.sources import ProgressFn, no_progress

#: Every standalone tool and the version spin-harness pins.
TOOL_VERSIONS: dict[Component, str] = {
    Component.HELM: HELM_VERSION,
    Component.KIND: KIND_VERSION,
    Component.K3D: K3D_VERSION,
    Component.KWOK: KWOK_VERSION,
    Component.KWOKCTL: KWOKCTL_VERSION,
    Component.TRAEFIK: TRAEFIK_VERSION,
    Component.PLUTO: PLUTO_VERSION,
}


def ensure_tool(
    name: str | Component, *, config: ToolchainConfig | None = None, progress: ProgressFn = no_progress
) -> Path:
    """The verified path of one pinned tool, built into the cache the first time."""
    try:
        component = Component(name)
    except ValueError:
        component = None
    if component not in TOOL_VERSIONS:
        raise ToolchainError(
            f"{name!s} is not a standalone tool", hint=f"choose from {', '.join(c.value for c in TOOL_VERSIONS)}"
        )
    assert component is not None
    build = ProductBuild(component.product, TOOL_VERSIONS[component])
    return ensure_product(build, [component], config=config, progress=progress)[component]
