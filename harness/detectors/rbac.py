"""rbac-change: the tenant access decision table differs across a hop.

For every subject bound in a tenant namespace (users, groups, service accounts) the detector
asks the apiserver, by SubjectAccessReview, whether it may perform each verb on each resource
in each tenant namespace. The table before and after a hop must be identical: a grant that
appears is as much a break (of isolation) as one that disappears (of workflows).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from kubernetes import client

from harness.detectors.base import ApiDetector
from harness.errors import HarnessError
from harness.findings import Finding, Severity
from harness.kube.client import post_raw
from harness.tenancy import tenant_namespaces

VERBS = ("get", "list", "create", "update", "delete", "escalate", "bind", "impersonate")
RESOURCES = (
    ("", "pods"),
    ("", "secrets"),
    ("", "configmaps"),
    ("", "services"),
    ("", "persistentvolumeclaims"),
    ("apps", "deployments"),
    ("batch", "cronjobs"),
    ("networking.k8s.io", "ingresses"),
    ("rbac.authorization.k8s.io", "roles"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("", "resourcequotas"),
    ("", "namespaces"),
)

#: "kind:name@namespace verb group/resource" -> allowed
Table = dict[str, bool]


def subjects(api: client.ApiClient, namespaces: list[str]) -> list[tuple[str, str]]:
    """(kind, name) of every subject bound in the tenant namespaces."""
    found: set[tuple[str, str]] = set()
    rbac = client.RbacAuthorizationV1Api(api)
    for namespace in namespaces:
        for binding in rbac.list_namespaced_role_binding(namespace).items:
            for subject in binding.subjects or []:
                name = subject.name
                if subject.kind == "ServiceAccount":
                    name = f"system:serviceaccount:{subject.namespace or namespace}:{subject.name}"
                found.add((subject.kind, name))
    return sorted(found)


#: Reviews in flight at once: the apiserver answers each in about a millisecond, so the time
#: goes to round trips, and a handful side by side cut the table's thousands of them to a fifth.
PARALLEL_REVIEWS = 8
REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


def review_specs(bound: list[tuple[str, str]], namespaces: list[str]) -> dict[str, dict[str, object]]:
    """The table's key -> the SubjectAccessReview spec that decides it."""
    specs: dict[str, dict[str, object]] = {}
    for kind, name in bound:
        for namespace in namespaces:
            for group, resource in RESOURCES:
                for verb in VERBS:
                    spec: dict[str, object] = {
                        "resourceAttributes": {
                            "namespace": namespace,
                            "verb": verb,
                            "group": group,
                            "resource": resource,
                        },
                    }
                    if kind == "Group":
                        spec["groups"] = [name]
                        spec["user"] = "spin-harness:probe"
                    else:
                        spec["user"] = name
                    specs[f"{kind}:{name}@{namespace} {verb} {group or 'core'}/{resource}"] = spec
    return specs


def allowed(api: client.ApiClient, spec: dict[str, object]) -> bool:
    """The apiserver's answer to one review (raw: the typed client's models cost more than the call)."""
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
    status, body = post_raw(api, REVIEWS, review)
    if status != 201:
        raise HarnessError(f"rbac-change: a SubjectAccessReview was answered {status}: {body[:300]}")
    return bool(json.loads(body).get("status", {}).get("allowed"))


def snapshot(api: client.ApiClient) -> Table:
    namespaces = tenant_namespaces(api)
    specs = review_specs(subjects(api, namespaces), namespaces)
    # No more than the client keeps connections for (cpu count x 5), or urllib3 opens and drops extra ones.
    workers = max(1, min(PARALLEL_REVIEWS, int(api.configuration.connection_pool_maxsize or 1)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rbac-change") as pool:
        answers = pool.map(lambda spec: allowed(api, spec), specs.values())
        return dict(zip(specs, answers, strict=True))


def compare(before: Table, after: Table, hop: str) -> list[Finding]:
    findings = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if old is None or new is None:
            continue  # a subject or namespace that exists on one side only: object-drift reports it
        change = "now allowed" if new else "now denied"
        findings.append(
            Finding(
                "rbac-change",
                Severity.BREAKING,
                hop,
                key,
                f"{key}: {change} (was {'allowed' if old else 'denied'})",
                {"before": old, "after": new},
            )
        )
    return findings


DETECTOR = ApiDetector[Table]("rbac-change", snapshot, lambda before, after, hop: compare(before, after, hop.label))
