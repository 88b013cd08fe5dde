"""Checks of the tenant-rbac scenario that a declarative step cannot express."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from harness.scenarios import CheckContext


def _allowed(api: client.ApiClient, user: str, groups: list[str], namespace: str, row: dict[str, Any]) -> bool:
    review = client.AuthorizationV1Api(api).create_subject_access_review(
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user,
                "groups": groups,
                "resourceAttributes": {
                    "namespace": namespace,
                    "verb": row["verb"],
                    "group": row.get("group", ""),
                    "resource": row["resource"],
                },
            },
        }
    )
    return bool(review.status.allowed)


def access_matrix(api: client.ApiClient, ctx: CheckContext, table: list[dict[str, Any]]) -> str:
    """every person of the tenant has exactly the access of their role, and none next door.

    Asks the apiserver by SubjectAccessReview, for each row of ``table`` (verb, group,
    resource, and the expected answer per role), as the owner, member and viewer users and as
    a newcomer who is only in the members group; in the tenant's namespace the answer must
    match the row, in the peer tenant's namespace it must be "no".
    """
    assert ctx.tenant is not None, "access_matrix runs per tenant"
    tenant = ctx.tenant
    peer = ctx.variables["peer"]["namespace"]
    identities: list[tuple[str, str, list[str]]] = [(role, user, []) for role, user in tenant.users.items()]
    identities.append(("member", f"{tenant.name}-newcomer", list(tenant.groups)))
    wrong: list[str] = []
    asked = 0
    for row in table:
        for role, user, groups in identities:
            cases = [(tenant.namespace, bool(row[role]))]
            if peer != tenant.namespace:  # with a single tenant there is no neighbour
                cases.append((peer, False))
            for namespace, expected in cases:
                asked += 1
                if _allowed(api, user, groups, namespace, row) != expected:
                    who = f"{user}{' in ' + ','.join(groups) if groups else ''}"
                    what = f"{row['verb']} {row.get('group') or 'core'}/{row['resource']} in {namespace}"
                    wrong.append(f"{who} {what}: expected {'allowed' if expected else 'denied'}")
    assert not wrong, f"{len(wrong)} of {asked} access decisions differ: " + "; ".join(wrong[:8])
    return f"{asked} access decisions as expected"
