"""Turning live objects into manifests a person could have written.

What the server added is removed: status, identity and bookkeeping metadata, fields that
belong to one cluster (a Service's clusterIP, a PVC's bound volume) and the defaults the API
fills in, so a manifest exported from one version applies cleanly to another. Secret values
are replaced by placeholders that keep the keys (through ``harness.kube.secret_values``, the
harness's one way of hiding them), so the shape of a tenant's configuration is kept and its
secrets are not.
"""

from __future__ import annotations

import copy
from typing import Any

from harness.kube.secret_values import SecretValue, hide_values

SECRET_PLACEHOLDER = "REPLACE-ME:{namespace}/{name}/{key}"

_METADATA_DROP = (
    "uid",
    "resourceVersion",
    "managedFields",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "finalizers",
)
_ANNOTATIONS_DROP_PREFIXES = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/",
    "pv.kubernetes.io/",
    "volume.beta.kubernetes.io/",
    "volume.kubernetes.io/",
    "control-plane.alpha.kubernetes.io/",
    "endpoints.kubernetes.io/",
)

#: Defaults the apiserver fills into pod templates and workloads (path -> default value).
_POD_DEFAULTS = {
    "dnsPolicy": "ClusterFirst",
    "restartPolicy": "Always",
    "schedulerName": "default-scheduler",
    "terminationGracePeriodSeconds": 30,
    "securityContext": {},
}
_CONTAINER_DEFAULTS = {
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
    "resources": {},
}
_WORKLOAD_DEFAULTS = {"progressDeadlineSeconds": 600, "revisionHistoryLimit": 10}


def is_generated(obj: dict[str, Any]) -> bool:
    """Objects the cluster makes by itself; exporting them would clash with the copies it makes again."""
    meta = obj.get("metadata", {})
    kind, name = obj.get("kind"), meta.get("name", "")
    if any(ref.get("controller") for ref in meta.get("ownerReferences", []) or []):
        return True
    if kind == "ConfigMap" and name in ("kube-root-ca.crt", "istio-ca-root-cert"):
        return True
    if kind == "ServiceAccount" and name == "default":
        return True
    if kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
        return True
    return kind in ("Event", "Endpoints", "EndpointSlice", "Lease", "ControllerRevision")


def _drop_defaults(target: dict[str, Any], defaults: dict[str, Any]) -> None:
    for key, value in defaults.items():
        if key in target and target[key] == value:
            del target[key]


def _clean_pod_spec(spec: dict[str, Any]) -> None:
    _drop_defaults(spec, _POD_DEFAULTS)
    for field in ("containers", "initContainers"):
        for container in spec.get(field, []) or []:
            _drop_defaults(container, _CONTAINER_DEFAULTS)
            if container.get("imagePullPolicy") in ("IfNotPresent", "Always"):
                container.pop("imagePullPolicy")
    spec.pop("nodeName", None)


def clean(obj: dict[str, Any]) -> dict[str, Any]:
    """A manifest for ``obj``: server-managed and cluster-specific fields and defaults removed."""
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.setdefault("metadata", {})
    for key in _METADATA_DROP:
        meta.pop(key, None)
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith(_ANNOTATIONS_DROP_PREFIXES)
    }
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    kind = out.get("kind")
    spec = out.get("spec")
    if isinstance(spec, dict):
        if kind == "Service":
            for key in (
                "clusterIP",
                "clusterIPs",
                "ipFamilies",
                "ipFamilyPolicy",
                "internalTrafficPolicy",
                "sessionAffinity",
            ):
                spec.pop(key, None)
            for port in spec.get("ports", []) or []:
                if spec.get("type", "ClusterIP") == "ClusterIP":
                    port.pop("nodePort", None)
        if kind == "PersistentVolumeClaim":
            spec.pop("volumeName", None)
            if spec.get("volumeMode") == "Filesystem":
                spec.pop("volumeMode")
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
            _drop_defaults(spec, _WORKLOAD_DEFAULTS)
        template = spec.get("template") or (spec.get("jobTemplate", {}).get("spec", {}).get("template"))
        if isinstance(template, dict) and isinstance(template.get("spec"), dict):
            template.get("metadata", {}).pop("creationTimestamp", None)
            _clean_pod_spec(template["spec"])
        if kind == "Pod":
            _clean_pod_spec(spec)
    if kind == "Secret":
        out = _placeholder_secret(out)
    if kind == "ServiceAccount":
        out.pop("secrets", None)
    return out


def placeholder(value: SecretValue) -> str:
    """What an export writes instead of a Secret value: where the real one goes."""
    return SECRET_PLACEHOLDER.format(namespace=value.namespace, name=value.name, key=value.key)


def _placeholder_secret(secret: dict[str, Any]) -> dict[str, Any]:
    """Every value as a plain-text placeholder, so every key moves to ``stringData``."""
    hidden: dict[str, Any] = hide_values(secret, placeholder, as_string_data=True)
    return hidden
