"""k3d clusters: k3s servers and agents as Docker containers of ``rancher/k3s`` images."""

from typing import TYPE_CHECKING

from harness.lazy import on_first_use

if TYPE_CHECKING:
    from harness.providers.k3d.provider import K3dProvider

# The provider's code is loaded when the provider is asked for, not when a part of it is.
__getattr__ = on_first_use(__name__, {"K3dProvider": "provider"})

__all__ = ["K3dProvider"]
