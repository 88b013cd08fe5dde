"""removed-api: group-versions and resources served before a hop and not after.

A removed API is the classic hidden break: manifests in tenants' Git repos keep using it and
fail only on the next apply. Removals of something tenants use (objects stored under it,
replayed manifests naming it, tenant identities requesting it per the audit log) are breaking
and name those objects and manifests; other removals are information: nobody a person could
tell has to change anything (the control plane moves on by itself).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from kubernetes import client

from harness.detectors.attribution import Attribution
from harness.detectors.base import ApiDetector, HopContext
from harness.findings import Finding, Severity

#: {"apps/v1": ["deployments", ...], "v1": [...]}
Discovery = dict[str, list[str]]


def snapshot(api: client.ApiClient) -> Discovery:
    """Every served group-version and its top-level resources (subresources left out)."""
    served: Discovery = {}
    core = client.CoreApi(api).get_api_versions()
    for version in core.versions:
        served[version] = _resources(api, f"/api/{version}")
    for group in client.ApisApi(api).get_api_versions().groups:
        for version in group.versions:
            served[version.group_version] = _resources(api, f"/apis/{version.group_version}")
    return served


def _resources(api: client.ApiClient, path: str) -> list[str]:
    from harness.kube.client import get_json

    body = get_json(api, path)
    return sorted(r["name"] for r in body.get("resources", []) if "/" not in r["name"])


def api_versions_used(manifests: Iterable[dict[str, Any]]) -> set[str]:
    return {str(m.get("apiVersion")) for m in manifests if isinstance(m, dict) and m.get("apiVersion")}


_KUBE_VERSION = re.compile(r"^v(?P<major>[1-9][0-9]*)(?:(?P<level>alpha|beta)(?P<minor>[1-9][0-9]*))?$")
_LEVELS = {None: 0, "beta": 1, "alpha": 2}


def version_priority(version: str) -> tuple[int, int, int, int, str]:
    """Sort key putting the API version Kubernetes prefers first (as apimachinery orders them).

    GA before beta before alpha, a higher number first within each (``v2``, ``v1``,
    ``v1beta2``, ``v1beta1``, ``v2alpha1``); versions not shaped like these come last, by name.
    """
    match = _KUBE_VERSION.match(version)
    if match is None:
        return (1, 0, 0, 0, version)
    minor = int(match["minor"]) if match["minor"] else 0
    return (0, _LEVELS[match["level"]], -int(match["major"]), -minor, "")


def replacement(group_version: str, resources: list[str], after: Discovery) -> str | None:
    """The group-version of the same group that Kubernetes prefers among those still serving
    the removed one's resources, if any."""
    group = group_version.rpartition("/")[0]
    candidates = [
        gv
        for gv, served in after.items()
        if gv.rpartition("/")[0] == group and gv != group_version and set(resources) <= set(served)
    ]
    return min(candidates, key=lambda gv: version_priority(gv.rpartition("/")[2]), default=None)


def compare(
    before: Discovery,
    after: Discovery,
    hop: str,
    *,
    in_use: AbstractSet[str] = frozenset(),
    users: dict[str, list[str]] | None = None,
    requests: Mapping[str, Attribution] | None = None,
    harness_users: dict[str, list[str]] | None = None,
) -> list[Finding]:
    """Findings for every group-version, or resource of a kept group-version, that vanished.

    A removal is breaking when tenants use it: ``in_use`` group-versions (tenant objects stored
    under them), ``users`` (group-version -> tenant manifests) or ``requests`` (group-version or
    ``"group-version resource"`` -> who requested it, from the audit log). Otherwise nobody a
    person can name is affected and the finding is ``info``; ``harness_users`` (the harness's
    own scenario manifests) are named in it, never counted against tenants.
    """
    findings: list[Finding] = []
    requests = requests or {}
    for group_version, resources in sorted(before.items()):
        if group_version not in after:
            tenant = requests.get(group_version, Attribution())
            manifests = sorted(set((users or {}).get(group_version, [])) | set(tenant.manifests))
            used = group_version in in_use or bool(manifests) or bool(tenant.tenant)
            instead = replacement(group_version, resources, after)
            detail = f"{group_version} is no longer served" + (
                " and tenant manifests use it" if used else _unused(group_version, harness_users)
            )
            if tenant.objects:
                detail += f" (tenant objects: {', '.join(tenant.objects[:5])})"
            if instead:
                detail += f"; use {instead} instead"
            evidence: dict[str, object] = {"resources_before": resources, "in_use": used, **tenant.evidence()}
            evidence["manifests"] = manifests
            if instead:
                evidence["replacement"] = instead
            severity = Severity.BREAKING if used else Severity.INFO
            findings.append(Finding("removed-api", severity, hop, group_version, detail, evidence))
            continue
        for resource in sorted(set(resources) - set(after[group_version])):
            api = f"{group_version} {resource}"
            tenant = requests.get(api, Attribution())
            detail = f"{group_version} no longer serves {resource}"
            if tenant.tenant:
                detail += f"; tenants use it: {', '.join(tenant.objects[:5])}"
            else:
                detail += _unused(group_version, harness_users)
            findings.append(
                Finding(
                    "removed-api",
                    Severity.BREAKING if tenant.tenant else Severity.INFO,
                    hop,
                    api,
                    detail,
                    {"resource": resource, **tenant.evidence()},
                )
            )
    return findings


def _unused(group_version: str, harness_users: dict[str, list[str]] | None) -> str:
    scenarios = sorted(set((harness_users or {}).get(group_version, [])))
    if scenarios:
        return f"; no tenant object or manifest uses it, only the harness's {', '.join(scenarios)}"
    return "; no tenant object or manifest uses it"


def _compare_hop(before: Discovery, after: Discovery, hop: HopContext) -> list[Finding]:
    gone = [gv for gv in before if gv not in after]
    gone += [f"{gv} {r}" for gv, rs in before.items() if gv in after for r in sorted(set(rs) - set(after[gv]))]
    requests = hop.requests_to(gone) if gone else {}
    users, harness = hop.api_users(), hop.harness_users()
    return compare(before, after, hop.label, users=users, requests=requests, harness_users=harness)


DETECTOR = ApiDetector("removed-api", snapshot, _compare_hop)
