"""Reading, from a live cluster, what attribution needs to tell tenants from everyone else.

Kept apart from ``harness.detectors.attribution`` so that module stays pure (its unit tests
feed it audit-log fixtures and hand-made ``Tenancy`` values, no cluster).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kubernetes import client

from harness.detectors.attribution import Tenancy, manifest_ref
from harness.kube.client import get_json
from harness.tenancy import tenant_namespaces

if TYPE_CHECKING:
    from harness.workloads.replay import Manifest


def own_identity(api: client.ApiClient) -> frozenset[str]:
    """The user ``api`` authenticates as (SelfSubjectReview); empty when the server cannot say."""
    try:
        review = client.AuthenticationV1Api(api).create_self_subject_review(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        )
    except client.ApiException:
        return frozenset()
    name = getattr(getattr(review.status, "user_info", None), "username", None)
    return frozenset({name}) if name else frozenset()


def kinds_to_resources(api: client.ApiClient) -> dict[tuple[str, str], str]:
    """(apiVersion, kind) -> resource for every group-version the server serves (subresources left out)."""
    paths = [("v1", "/api/v1")]
    for group in client.ApisApi(api).get_api_versions().groups:
        paths += [(v.group_version, f"/apis/{v.group_version}") for v in group.versions]
    out: dict[tuple[str, str], str] = {}
    for group_version, path in paths:
        try:
            resources = get_json(api, path).get("resources", [])
        except RuntimeError:
            continue  # an aggregated API that is down: its kinds stay unmapped
        for res in resources:
            if "/" not in res["name"]:
                out.setdefault((group_version, res["kind"]), res["name"])
    return out


def bound_subjects(api: client.ApiClient, namespaces: Sequence[str]) -> frozenset[str]:
    """``User:x`` and ``Group:y`` of every RoleBinding in the tenant namespaces."""
    rbac = client.RbacAuthorizationV1Api(api)
    found: set[str] = set()
    for namespace in namespaces:
        for binding in rbac.list_namespaced_role_binding(namespace).items:
            for subject in binding.subjects or []:
                if subject.kind in ("User", "Group"):
                    found.add(f"{subject.kind}:{subject.name}")
    return frozenset(found)


def read_tenancy(api: client.ApiClient, manifests: Sequence[Manifest] = ()) -> Tenancy:
    """The cluster's tenants as attribution sees them, with the matrix's tenant manifests."""
    namespaces = tenant_namespaces(api)
    resources = kinds_to_resources(api) if manifests else {}
    return Tenancy(
        namespaces=frozenset(namespaces),
        subjects=bound_subjects(api, namespaces),
        harness_users=own_identity(api),
        manifests=tuple(manifest_ref(m, resources) for m in manifests),
    )
