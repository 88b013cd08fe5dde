"""kind clusters: Kubernetes nodes as Docker containers of an offline-built node image."""

from harness.providers.kind.provider import KindProvider

__all__ = ["KindProvider"]
