"""The local provider: a real control plane run as processes on loopback, nodes simulated by kwok."""

from typing import TYPE_CHECKING

from harness.lazy import on_first_use

if TYPE_CHECKING:
    from harness.providers.local.provider import LocalProvider

# The provider's code is loaded when the provider is asked for, not when a part of it is.
__getattr__ = on_first_use(__name__, {"LocalProvider": "provider"})

__all__ = ["LocalProvider"]
