"""``mutate_pod``: the RFC 6902 JSON patch that applies the platform's defaults to a pod.

What it sets and why is described in ``harness.webhooks.policy``; the patch is idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.webhooks.policy.pod import as_dict, as_list, global_fs_volumes
from harness.webhooks.policy.tenant import (
    GLOBAL_FS_NODE_LABEL,
    GLOBAL_FS_NODE_VALUE,
    TENANT_LABEL,
    USES_GLOBAL_FS_LABEL,
    Tenant,
)

JsonPatch = list[dict[str, Any]]


def escape_token(token: str) -> str:
    """One JSON-pointer reference token (RFC 6901): ``~`` as ``~0``, then ``/`` as ``~1``."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    """A JSON pointer from raw tokens, e.g. ``pointer("metadata", "labels", "a/b")``."""
    return "".join("/" + escape_token(str(t)) for t in tokens)


def _ensure(doc: Mapping[str, Any], tokens: tuple[str, ...], leaf: Any, ops: JsonPatch) -> bool:
    """Add ``leaf`` at ``tokens``, creating missing (or null) parent objects in one ``add``.

    Returns False, adding nothing, when a parent exists but is not an object (an invalid pod
    the apiserver will reject anyway; patching it would only produce a confusing error).
    """
    node: Any = doc
    for depth, token in enumerate(tokens):
        child = node.get(token) if isinstance(node, dict) else None
        if child is None or depth == len(tokens) - 1:
            value = leaf
            for inner in reversed(tokens[depth + 1 :]):
                value = {inner: value}
            ops.append({"op": "add", "path": pointer(*tokens[: depth + 1]), "value": value})
            return True
        if not isinstance(child, dict):
            return False
        node = child
    return False


def _label_ops(pod: Mapping[str, Any], wanted: dict[str, str], ops: JsonPatch) -> None:
    labels = as_dict(pod.get("metadata")).get("labels")
    if not isinstance(labels, dict):
        _ensure(pod, ("metadata", "labels"), wanted, ops)
        return
    for key, value in wanted.items():
        if labels.get(key) != value:
            ops.append({"op": "add", "path": pointer("metadata", "labels", key), "value": value})


def _node_requirement() -> dict[str, Any]:
    return {"key": GLOBAL_FS_NODE_LABEL, "operator": "In", "values": [GLOBAL_FS_NODE_VALUE]}


def _affinity_ops(pod: Mapping[str, Any], ops: JsonPatch) -> None:
    requirement = _node_requirement()
    base = ("spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    required = as_dict(as_dict(as_dict(as_dict(pod.get("spec")).get("affinity")).get("nodeAffinity")).get(base[-1]))
    terms = required.get("nodeSelectorTerms")
    if not isinstance(terms, list) or not terms:
        _ensure(pod, (*base, "nodeSelectorTerms"), [{"matchExpressions": [requirement]}], ops)
        return
    for index, term in enumerate(terms):
        term = as_dict(term)
        expressions = term.get("matchExpressions")
        if not as_list(expressions) and not as_list(term.get("matchFields")):
            continue  # an empty term matches no node; ANDing into it would widen the selection
        if requirement in as_list(expressions):
            continue
        at = (*base, "nodeSelectorTerms", index, "matchExpressions")
        if isinstance(expressions, list):
            ops.append({"op": "add", "path": pointer(*at, "-"), "value": requirement})
        else:
            ops.append({"op": "add", "path": pointer(*at), "value": [requirement]})


def mutate_pod(pod: Mapping[str, Any], tenant: Tenant) -> JsonPatch:
    """The RFC 6902 patch that applies the platform defaults to ``pod`` (see the module docstring)."""
    pod = as_dict(pod)
    ops: JsonPatch = []
    uses_global_fs = bool(global_fs_volumes(pod, tenant))
    wanted: dict[str, str] = {}
    if tenant.name:
        wanted[TENANT_LABEL] = tenant.name
    if uses_global_fs:
        wanted[USES_GLOBAL_FS_LABEL] = "true"
    if wanted:
        _label_ops(pod, wanted, ops)
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return ops
    is_windows = as_dict(spec.get("os")).get("name") == "windows"
    if not is_windows and as_dict(spec.get("securityContext")).get("seccompProfile") is None:
        _ensure(pod, ("spec", "securityContext", "seccompProfile"), {"type": "RuntimeDefault"}, ops)
    if uses_global_fs:
        _affinity_ops(pod, ops)
    return ops
