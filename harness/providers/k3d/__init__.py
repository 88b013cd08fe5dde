"""k3d clusters: k3s servers and agents as Docker containers of ``rancher/k3s`` images."""

from harness.providers.k3d.provider import K3dProvider

__all__ = ["K3dProvider"]
