"""kind clusters: Kubernetes nodes as Docker containers of an offline-built node image."""

from typing import TYPE_CHECKING

from harness.lazy import on_first_use

if TYPE_CHECKING:
    from harness.providers.kind.provider import KindProvider

# The provider's code is loaded when the provider is asked for, not when a part of it is.
__getattr__ = on_first_use(__name__, {"KindProvider": "provider"})

__all__ = ["KindProvider"]
