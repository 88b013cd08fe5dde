"""The local provider: a real control plane run as processes on loopback, nodes simulated by kwok."""

from harness.providers.local.provider import LocalProvider

__all__ = ["LocalProvider"]
