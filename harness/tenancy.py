"""How the harness recognises tenant namespaces, and the tenants' objects in them, on any cluster.

The platform marks each tenant namespace with ``platform.spin.example/tenant=<tenant>``; the
detectors look at those namespaces (and, on clusters made without the label, at namespaces
named ``tenant-*``). Scenarios put the harness's own objects in the same namespaces (they act
as a tenant's people); ``tenant_objects`` leaves those out, so they never make tenant findings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubernetes import client

from harness.kube.labels import MANAGED_BY_LABEL, MANAGER, TENANT_LABEL

__all__ = ["TENANT_LABEL", "TENANT_PREFIX", "harness_owned", "tenant_namespaces", "tenant_objects"]

TENANT_PREFIX = "tenant-"


def tenant_namespaces(api: client.ApiClient) -> list[str]:
    names = []
    for ns in client.CoreV1Api(api).list_namespace().items:
        labels = ns.metadata.labels or {}
        if TENANT_LABEL in labels or ns.metadata.name.startswith(TENANT_PREFIX):
            names.append(ns.metadata.name)
    return sorted(names)


def _made_by_harness(obj: dict[str, Any]) -> bool:
    """Labelled as the harness's, or written by one of its parts (``spin-harness/<part>`` field
    managers: scenarios, webhooks, platform components) and not by the tenant replay
    (``spin-harness`` alone applies tenant manifests)."""
    meta = obj.get("metadata") or {}
    if (meta.get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGER:
        return True
    managers = {str(entry.get("manager", "")) for entry in meta.get("managedFields") or []}
    return MANAGER not in managers and any(m.startswith(f"{MANAGER}/") for m in managers)


def harness_owned(objects: Iterable[dict[str, Any]]) -> set[str]:
    """UIDs of the harness's own objects among ``objects`` and of everything they own (the pods
    of a scenario's Deployment are the scenario's too)."""
    items = [o for o in objects if (o.get("metadata") or {}).get("uid")]
    owned = {o["metadata"]["uid"] for o in items if _made_by_harness(o)}
    grew = True
    while grew:
        grew = False
        for obj in items:
            uid = obj["metadata"]["uid"]
            refs = obj["metadata"].get("ownerReferences") or []
            if uid not in owned and any(ref.get("uid") in owned for ref in refs):
                owned.add(uid)
                grew = True
    return owned


def tenant_objects(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``objects`` without the harness's own (see ``harness_owned``)."""
    items = list(objects)
    owned = harness_owned(items)
    return [o for o in items if (o.get("metadata") or {}).get("uid") not in owned]
