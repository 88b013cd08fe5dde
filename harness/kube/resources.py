"""Reading every object of a namespace, whatever APIs the cluster serves.

Detectors (object drift) and the export both need "everything tenants own in this namespace":
every namespaced resource the server lists, at its preferred version, minus resources whose
objects are bookkeeping rather than tenant intent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kubernetes import client

from harness.kube.client import get_json

#: Resources whose objects churn by design or are generated; never tenant intent.
BOOKKEEPING = frozenset(
    {
        "events",
        "endpoints",
        "endpointslices",
        "leases",
        "controllerrevisions",
        "podtemplates",
        "localsubjectaccessreviews",
        "bindings",
        "csistoragecapacities",
    }
)


def namespaced_resources(
    api: client.ApiClient, *, verbs: tuple[str, ...] = ("list",), skip: frozenset[str] = BOOKKEEPING
) -> list[tuple[str, str, str]]:
    """(group-version, resource, kind) of every namespaced resource supporting ``verbs``, preferred versions."""
    paths = [("v1", "/api/v1")]
    for group in client.ApisApi(api).get_api_versions().groups:
        paths.append((group.preferred_version.group_version, f"/apis/{group.preferred_version.group_version}"))
    found = []
    for gv, path in paths:
        for res in get_json(api, path).get("resources", []):
            if "/" in res["name"] or not res.get("namespaced") or res["name"] in skip:
                continue
            if all(verb in res.get("verbs", []) for verb in verbs):
                found.append((gv, res["name"], res["kind"]))
    return found


def objects_in(
    api: client.ApiClient, namespace: str, resources: list[tuple[str, str, str]]
) -> Iterator[dict[str, Any]]:
    """Every object of ``resources`` in ``namespace``, with apiVersion and kind filled in."""
    for gv, resource, kind in resources:
        prefix = "/api/v1" if gv == "v1" else f"/apis/{gv}"
        try:
            listing = get_json(api, f"{prefix}/namespaces/{namespace}/{resource}")
        except RuntimeError:
            continue  # listed in discovery but not readable here (aggregated API down, RBAC)
        for item in listing.get("items", []):
            item.setdefault("apiVersion", gv)
            item.setdefault("kind", kind)
            yield item
