"""object-drift: tenant objects read back after a hop differ from before.

Objects are normalised first: fields the server manages (resourceVersion, managedFields,
status) are dropped, and Secret values are replaced by digests so evidence never carries a
secret. Then: an object that vanished or was recreated (new UID) is breaking; a value that
changed or a field that disappeared is breaking; a field the new version added (a new
default) is a warning, since tenants' tooling may diff against it. The harness's own scenario
objects are left out (``harness.tenancy.tenant_objects``): they are not a tenant's.
"""

from __future__ import annotations

from typing import Any

from deepdiff import DeepDiff
from kubernetes import client

from harness.detectors.base import ApiDetector
from harness.findings import Finding, Severity
from harness.kube.resources import BOOKKEEPING, namespaced_resources, objects_in
from harness.kube.secret_values import conceal_by_fingerprint, hide_values
from harness.tenancy import tenant_namespaces, tenant_objects

#: Besides bookkeeping, objects that controllers own and rewrite: watching them reports only noise.
CHURNING = BOOKKEEPING | {"pods", "replicasets"}

ObjectKey = str  # "namespace/group-version/Kind/name"
Snapshot = dict[ObjectKey, dict[str, Any]]


def redact_secret(obj: dict[str, Any]) -> dict[str, Any]:
    """Replace every Secret value by a keyed fingerprint: changes stay visible, values never do."""
    hidden: dict[str, Any] = hide_values(obj, conceal_by_fingerprint)
    return hidden


def normalise(obj: dict[str, Any]) -> dict[str, Any]:
    meta = dict(obj.get("metadata", {}))
    for field in ("resourceVersion", "managedFields", "generation", "selfLink"):
        meta.pop(field, None)
    annotations = dict(meta.get("annotations") or {})
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out = {k: v for k, v in obj.items() if k not in ("status", "metadata")}
    out["metadata"] = meta
    return redact_secret(out)


def snapshot(api: client.ApiClient, namespaces: list[str] | None = None) -> Snapshot:
    """Every object of every listable namespaced resource in the tenant namespaces, normalised."""
    namespaces = namespaces if namespaces is not None else tenant_namespaces(api)
    out: Snapshot = {}
    resources = namespaced_resources(api, skip=CHURNING)
    for namespace in namespaces:
        for item in tenant_objects(objects_in(api, namespace, resources)):
            key = f"{namespace}/{item['apiVersion']}/{item['kind']}/{item['metadata']['name']}"
            out[key] = normalise(item)
    return out


def compare(before: Snapshot, after: Snapshot, hop: str) -> list[Finding]:
    findings: list[Finding] = []
    for key, old in sorted(before.items()):
        new = after.get(key)
        if new is None:
            findings.append(
                Finding(
                    "object-drift",
                    Severity.BREAKING,
                    hop,
                    key,
                    f"{key} is gone after the hop",
                    {"before": old},
                )
            )
            continue
        if old["metadata"].get("uid") != new["metadata"].get("uid"):
            findings.append(
                Finding(
                    "object-drift",
                    Severity.BREAKING,
                    hop,
                    key,
                    f"{key} was recreated (its UID changed)",
                    {"uid_before": old["metadata"].get("uid"), "uid_after": new["metadata"].get("uid")},
                )
            )
            continue
        diff = DeepDiff(old, new, ignore_order=True, verbose_level=2)
        if not diff:
            continue
        changed = {k: v for k, v in diff.items() if k != "dictionary_item_added"}
        severity = Severity.BREAKING if changed else Severity.WARNING
        summary = ", ".join(sorted(diff.keys()))
        findings.append(
            Finding(
                "object-drift",
                severity,
                hop,
                key,
                f"{key} differs after the hop ({summary})",
                {"diff": _plain(diff)},
            )
        )
    return findings


def _plain(diff: DeepDiff) -> dict[str, Any]:
    import json

    return json.loads(diff.to_json())  # type: ignore[no-any-return]


DETECTOR = ApiDetector[Snapshot]("object-drift", snapshot, lambda before, after, hop: compare(before, after, hop.label))
