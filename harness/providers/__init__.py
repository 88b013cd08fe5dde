"""Cluster providers behind one protocol, looked up by the name used in matrices and flags."""

from __future__ import annotations

from harness.errors import InputError
from harness.providers.base import Cluster, ClusterProvider, ProviderCapabilities
from harness.providers.k3d import K3dProvider
from harness.providers.kind import KindProvider
from harness.providers.local import LocalProvider

PROVIDERS: dict[str, type[LocalProvider] | type[KindProvider] | type[K3dProvider]] = {
    "local": LocalProvider,
    "kind": KindProvider,
    "k3d": K3dProvider,
}


def provider_names() -> list[str]:
    return sorted(PROVIDERS)


def unavailable_reason(name: str) -> str | None:
    """Why cells of provider ``name`` cannot run on this machine, or None when they can.

    Matrices may name every provider the harness knows of (``nightly.yaml`` names them all);
    their cells are skipped with this reason where the provider is not there.
    """
    factory = PROVIDERS.get(name)
    if factory is None:
        return f"this spin-harness has no {name} provider yet (providers here: {', '.join(provider_names())})"
    return factory().available()


def get_provider(name: str, **options: object) -> ClusterProvider:
    """The provider called ``name``; ``InputError`` listing the known ones otherwise."""
    try:
        factory = PROVIDERS[name]
    except KeyError:
        raise InputError(f"unknown provider {name!r}", hint=f"choose one of: {', '.join(provider_names())}") from None
    provider: ClusterProvider = factory(**options)  # type: ignore[arg-type]
    return provider


__all__ = [
    "Cluster",
    "ClusterProvider",
    "ProviderCapabilities",
    "get_provider",
    "provider_names",
    "unavailable_reason",
]
