"""Cluster providers behind one protocol, looked up by the name used in matrices and flags."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from harness.errors import ClusterError, InputError
from harness.providers.base import Cluster, ClusterProvider, ClusterRow, Garbage, ProviderCapabilities, UpgradeAction

#: Every provider by the name matrices and flags use, as ``module:class``. Imported only when
#: asked for, so that reading a matrix (which checks provider names) loads no Docker client.
PROVIDERS: dict[str, str] = {
    "local": "harness.providers.local:LocalProvider",
    "kind": "harness.providers.kind:KindProvider",
    "k3d": "harness.providers.k3d:K3dProvider",
}

#: The provider a command or test uses when none is named: clusters as local processes.
DEFAULT_PROVIDER = "local"


def provider_names() -> list[str]:
    return sorted(PROVIDERS)


def _factory(name: str) -> Callable[..., ClusterProvider]:
    module, _, attribute = PROVIDERS[name].partition(":")
    factory: Callable[..., ClusterProvider] = getattr(importlib.import_module(module), attribute)
    return factory


def unavailable_reason(name: str) -> str | None:
    """Why cells of provider ``name`` cannot run on this machine, or None when they can.

    Matrices may name every provider the harness knows of (``nightly.yaml`` names them all);
    their cells are skipped with this reason where the provider is not there.
    """
    if name not in PROVIDERS:
        return f"this spin-harness has no {name} provider yet (providers here: {', '.join(provider_names())})"
    return _factory(name)().available()


def get_provider(name: str, **options: object) -> ClusterProvider:
    """The provider called ``name``; ``InputError`` listing the known ones otherwise."""
    if name not in PROVIDERS:
        raise InputError(f"unknown provider {name!r}", hint=f"choose one of: {', '.join(provider_names())}")
    return _factory(name)(**options)


def all_providers(**options: object) -> list[ClusterProvider]:
    """One of every registered provider, in name order (for ``cluster list`` and ``gc``)."""
    return [get_provider(name, **options) for name in provider_names()]


def provider_of(cluster_name: str, provider: str | None = None) -> str:
    """The name of the provider whose cluster is called ``cluster_name``.

    With ``provider`` given, that one; otherwise every provider's ``list()`` is searched: no
    match is a ``ClusterError``, a name two providers use an ``InputError`` naming both.
    """
    if provider is not None:
        get_provider(provider)  # an unknown name fails here, listing the known ones
        return provider
    owners = [p.name for p in all_providers() if any(row.name == cluster_name for row in p.list())]
    if not owners:
        raise ClusterError(f"no cluster named {cluster_name!r}", hint="see 'spin-harness cluster list'")
    if len(owners) > 1:
        raise InputError(
            f"clusters named {cluster_name!r} exist in providers {' and '.join(owners)}",
            hint=f"choose one with --provider ({', '.join(owners)})",
        )
    return owners[0]


def component_pids(cluster_name: str) -> dict[str, int]:
    """Host process ids of a cluster's components by name, for fault injection.

    Empty where the components are not host processes of their own (containers).
    """
    provider = get_provider(provider_of(cluster_name))
    return provider.component_pids(provider.get(cluster_name))


__all__ = [
    "DEFAULT_PROVIDER",
    "Cluster",
    "ClusterProvider",
    "ClusterRow",
    "Garbage",
    "ProviderCapabilities",
    "UpgradeAction",
    "all_providers",
    "component_pids",
    "get_provider",
    "provider_names",
    "provider_of",
    "unavailable_reason",
]
