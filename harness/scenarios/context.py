"""What templates and check functions know about the run: tenants, version, provider, params.

Templates get plain data only (dicts and lists), so rendering cannot reach into the harness.
Check functions get a ``CheckContext`` with the same data plus API clients, since their job
is to ask the cluster questions a declarative step cannot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from harness.scenarios.tenants import Tenant
from harness.versions import KubeVersion

_LEADING_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


def leading_version(text: str) -> KubeVersion | None:
    """The Kubernetes version a string starts with: ``v1.37.2+k3s1`` (a server's gitVersion)
    or ``v1.37.2+platform-crd@v2`` (a matrix item's version) -> v1.37.2; None if there is none."""
    match = _LEADING_VERSION.match(text.strip())
    return KubeVersion(*(int(g) for g in match.groups())) if match else None


def version_context(version: KubeVersion) -> dict[str, Any]:
    """``version`` in templates: ``{% if version.minor >= 36 %}``."""
    return {"major": version.major, "minor": version.minor, "patch": version.patch, "string": str(version)}


def base_context(
    *,
    tenants: Sequence[Tenant],
    version: KubeVersion,
    provider: str,
    capabilities: frozenset[str],
    params: dict[str, Any],
) -> dict[str, Any]:
    """Variables every template sees (``tenant`` and ``peer`` are added per tenant)."""
    return {
        "tenants": [t.context() for t in tenants],
        "version": version_context(version),
        "provider": provider,
        "capabilities": sorted(capabilities),
        "params": dict(params),
        "vars": {},
    }


def tenant_context(context: dict[str, Any], tenants: Sequence[Tenant], tenant: Tenant) -> dict[str, Any]:
    """``context`` with ``tenant`` bound, and ``peer``: the next tenant, for cross-tenant checks."""
    index = list(tenants).index(tenant)
    peer = tenants[(index + 1) % len(tenants)]
    return {**context, "tenant": tenant.context(), "peer": peer.context()}


@dataclass
class CheckContext:
    """Everything a ``checks.py`` function may use besides the API client it is called with."""

    scenario: str
    phase: str
    tenant: Tenant | None
    tenants: list[Tenant]
    version: KubeVersion
    provider: str
    capabilities: frozenset[str]
    params: dict[str, Any]
    #: The admin client, also inside ``as_user`` (for setting up what a check then tests).
    admin: client.ApiClient
    #: The template variables of the step (``tenant``, ``peer``, ``vars``...).
    variables: dict[str, Any] = field(default_factory=dict)
    #: ``impersonate(user, groups)``: a client acting as that identity (closed by the runner).
    impersonate: Callable[[str, Sequence[str]], client.ApiClient] | None = None
    #: The running services the scenario asked for, by name (``admission-webhook``: a WebhookServer).
    services: dict[str, Any] = field(default_factory=dict)

    def as_user(self, user: str, groups: Sequence[str] = ()) -> client.ApiClient:
        if self.impersonate is None:
            raise RuntimeError("this check context cannot impersonate")
        return self.impersonate(user, groups)
