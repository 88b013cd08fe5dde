"""schema-change: the API schema of the kinds tenants use changed across a hop.

For every group-version of a kind found in tenant namespaces, the apiserver's OpenAPI v3
document is read before and after the hop and the kind's schema compared field by field:
a field that disappeared or changed type is breaking when a tenant object sets it (manifests
that set it are rejected or silently pruned) and information when none does (alpha fields come
and go between minors; every tenant object already satisfies the new schema), a field that
became required is breaking when a tenant object lacks it (information when every one sets
it), a new optional field is information. Without the tenant objects, every removed or retyped
field counts as used. The harness's own scenario objects in tenant namespaces are not tenant
objects (``harness.tenancy.tenant_objects``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubernetes import client

from harness.detectors.base import ApiDetector, HopContext
from harness.findings import Finding, Severity
from harness.kube.client import get_json
from harness.tenancy import tenant_namespaces, tenant_objects

#: "group/version Kind" -> {"spec.replicas": {"type": "integer", "required": False}, ...}
Schemas = dict[str, dict[str, dict[str, Any]]]
_MAX_DEPTH = 8


def _flatten(
    schema: dict[str, Any], components: dict[str, Any], prefix: str, out: dict[str, dict[str, Any]], depth: int = 0
) -> None:
    if depth > _MAX_DEPTH:
        return
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    elif "allOf" in schema and schema["allOf"] and "$ref" in schema["allOf"][0]:
        schema = components.get(schema["allOf"][0]["$ref"].rsplit("/", 1)[-1], {})
    required = set(schema.get("required", []))
    for name, child in (schema.get("properties") or {}).items():
        path = f"{prefix}.{name}" if prefix else name
        resolved = child
        if "$ref" in child:
            resolved = components.get(child["$ref"].rsplit("/", 1)[-1], {})
        elif "allOf" in child and child["allOf"] and "$ref" in child["allOf"][0]:
            resolved = components.get(child["allOf"][0]["$ref"].rsplit("/", 1)[-1], {})
        out[path] = {"type": resolved.get("type", "object"), "required": name in required}
        if path in ("metadata", "status") or path.endswith(".metadata"):
            continue
        _flatten(resolved, components, path, out, depth + 1)
        if resolved.get("type") == "array" and isinstance(resolved.get("items"), dict):
            _flatten(resolved["items"], components, f"{path}[]", out, depth + 1)


def kind_schema(document: dict[str, Any], kind: str, group: str, version: str) -> dict[str, dict[str, Any]]:
    components = document.get("components", {}).get("schemas", {})
    for schema in components.values():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            if gvk.get("kind") == kind and gvk.get("group", "") == group and gvk.get("version") == version:
                out: dict[str, dict[str, Any]] = {}
                _flatten(schema, components, "", out)
                return out
    return {}


@dataclass(frozen=True)
class SchemaSnapshot:
    """The schemas of the kinds tenants use, and the tenant objects of each kind (bare Pods too)."""

    schemas: Schemas
    objects: dict[str, list[dict[str, Any]]]


def snapshot(api: client.ApiClient) -> SchemaSnapshot:
    """Schemas of every kind that has objects in a tenant namespace, with those objects."""
    from harness.kube.resources import namespaced_resources, objects_in

    objects: dict[str, list[dict[str, Any]]] = {}
    resources = namespaced_resources(api)
    for namespace in tenant_namespaces(api):
        for item in tenant_objects(objects_in(api, namespace, resources)):
            objects.setdefault(f"{item['apiVersion']} {item['kind']}", []).append(item)
    used = {tuple(subject.split(" ", 1)) for subject in objects}
    schemas: Schemas = {}
    documents: dict[str, dict[str, Any]] = {}
    for api_version, kind in sorted(used):
        path = "/openapi/v3/api/v1" if api_version == "v1" else f"/openapi/v3/apis/{api_version}"
        if path not in documents:
            try:
                documents[path] = get_json(api, path, timeout=30)
            except RuntimeError:
                documents[path] = {}
        group, _, version = api_version.rpartition("/")
        schemas[f"{api_version} {kind}"] = kind_schema(documents[path], kind, group, version)
    return SchemaSnapshot(schemas, objects)


def _lacks(obj: Any, path: list[str]) -> bool:
    """True when ``obj`` has the parent of ``path`` but not the field (``[]`` steps into list items)."""
    if not path:
        return False
    head, rest = path[0], path[1:]
    if head.endswith("[]"):
        items = obj.get(head[:-2]) if isinstance(obj, dict) else None
        return isinstance(items, list) and any(_lacks(item, rest) for item in items)
    if not isinstance(obj, dict):
        return False
    if head not in obj:
        return not rest  # the field itself is missing; a missing parent is the parent's business
    return _lacks(obj[head], rest)


def _sets(obj: Any, path: list[str]) -> bool:
    """True when ``obj`` has a value at ``path`` (``[]`` steps into every list item)."""
    if not path:
        return True
    head, rest = path[0], path[1:]
    if not isinstance(obj, dict):
        return False
    if head.endswith("[]"):
        items = obj.get(head[:-2])
        return isinstance(items, list) and any(_sets(item, rest) for item in items)
    return head in obj and obj[head] is not None and _sets(obj[head], rest)


def _name(obj: dict[str, Any]) -> str:
    """``tenant-alpha/web``: a tenant object as findings name it."""
    meta = obj.get("metadata") or {}
    return "/".join(str(part) for part in (meta.get("namespace"), meta.get("name")) if part)


def _users(subject: str, field: str, objects: dict[str, list[dict[str, Any]]] | None) -> list[str] | None:
    """Names of the tenant objects that set ``field`` (None: the objects are not known)."""
    if objects is None:
        return None
    return [_name(o) for o in objects.get(subject, []) if _sets(o, field.split("."))]


def _gone_or_retyped(
    subject: str, field: str, change: str, users: list[str] | None, evidence: dict[str, Any], hop: str
) -> Finding:
    if users is None or users:
        who = f"; tenant objects setting it: {', '.join(users[:5])}" if users else ""
        return Finding(
            "schema-change",
            Severity.BREAKING,
            hop,
            f"{subject} {field}",
            f"{subject}: field {field} {change}{who}",
            evidence | {"objects_setting_it": users or []},
        )
    detail = f"{subject}: field {field} {change}; no tenant object sets it"
    return Finding(
        "schema-change", Severity.INFO, hop, f"{subject} {field}", detail, evidence | {"objects_setting_it": []}
    )


def compare(
    before: Schemas, after: Schemas, hop: str, *, objects: dict[str, list[dict[str, Any]]] | None = None
) -> list[Finding]:
    """Schema differences, judged against the tenant objects of each kind when ``objects`` is given."""
    findings: list[Finding] = []
    for subject, old in sorted(before.items()):
        new = after.get(subject)
        if new is None or not old:
            continue  # a kind no longer served is removed-api's to report
        for field, info in sorted(old.items()):
            if field not in new:
                users = _users(subject, field, objects)
                findings.append(_gone_or_retyped(subject, field, "was removed", users, {"before": info}, hop))
            elif new[field]["type"] != info["type"]:
                users = _users(subject, field, objects)
                change = f"changed type {info['type']} -> {new[field]['type']}"
                findings.append(
                    _gone_or_retyped(subject, field, change, users, {"before": info, "after": new[field]}, hop)
                )
            elif new[field]["required"] and not info["required"]:
                lacking = [_name(o) for o in (objects or {}).get(subject, []) if _lacks(o, field.split("."))]
                if lacking:
                    severity, outcome = Severity.BREAKING, f"; tenant objects without it: {', '.join(lacking[:5])}"
                elif objects is None:
                    severity, outcome = Severity.WARNING, "; the tenant objects were not read"
                else:
                    severity, outcome = Severity.INFO, "; every tenant object sets it"
                detail = f"{subject}: field {field} became required{outcome}"
                evidence = {"after": new[field], "objects_without_it": lacking}
                findings.append(Finding("schema-change", severity, hop, f"{subject} {field}", detail, evidence))
        added = sorted(set(new) - set(old))
        if added:
            findings.append(
                Finding(
                    "schema-change",
                    Severity.INFO,
                    hop,
                    f"{subject} (new fields)",
                    f"{subject}: {len(added)} new optional field(s)",
                    {"added": added[:50]},
                )
            )
    return findings


def _compare_hop(before: SchemaSnapshot, after: SchemaSnapshot, hop: HopContext) -> list[Finding]:
    return compare(before.schemas, after.schemas, hop.label, objects=before.objects)


DETECTOR = ApiDetector("schema-change", snapshot, _compare_hop)
