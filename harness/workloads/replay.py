"""Applying an export (or any directory of manifests) to a cluster, in dependency order.

Server-side apply with one field manager, so replaying twice is a no-op and the harness's
fields are distinguishable from the tenants' later edits. ``dry_run`` submits everything with
server-side dry-run instead: the ``dry-run-rejected`` check of a target version.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, dynamic

from harness.errors import InputError
from harness.kube.client import api_client
from harness.kube.labels import MANAGER
from harness.workloads.export import APPLY_ORDER, INDEX

#: Tenant manifests are applied under the bare harness name; the harness's own parts use ``spin-harness/<part>``.
FIELD_MANAGER = MANAGER


@dataclass(frozen=True)
class Manifest:
    source: Path
    body: dict[str, Any]

    @property
    def label(self) -> str:
        meta = self.body.get("metadata", {})
        where = f"{meta['namespace']}/" if meta.get("namespace") else ""
        return f"{self.body.get('apiVersion')} {self.body.get('kind')} {where}{meta.get('name')}"


@dataclass(frozen=True)
class ApplyResult:
    manifest: Manifest
    ok: bool
    message: str = ""
    warnings: tuple[str, ...] = ()


def load_manifests(directory: Path) -> list[Manifest]:
    """Every manifest under ``directory``; bad YAML names the file and line."""
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory of manifests")
    manifests: list[Manifest] = []
    for path in sorted(directory.rglob("*.yaml")):
        if path.name == INDEX:
            continue
        try:
            documents = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark else ""
            raise InputError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
        for document in documents:
            if document is None:
                continue
            if not isinstance(document, dict) or not document.get("apiVersion") or not document.get("kind"):
                raise InputError(f"{path}: not a Kubernetes manifest (apiVersion and kind are required)")
            if not document.get("metadata", {}).get("name"):
                raise InputError(f"{path}: {document['kind']} has no metadata.name")
            manifests.append(Manifest(path, document))
    return sorted(manifests, key=_order)


def _order(manifest: Manifest) -> tuple[int, str]:
    kind = manifest.body.get("kind", "")
    if kind == "Namespace":
        return (0, manifest.label)
    if kind == "CustomResourceDefinition":
        return (1, manifest.label)
    rank = APPLY_ORDER.index(kind) + 2 if kind in APPLY_ORDER else len(APPLY_ORDER) + 2
    return (rank, manifest.label)


def apply_manifests(
    kubeconfig: Path, manifests: list[Manifest], *, dry_run: bool = False, field_manager: str = FIELD_MANAGER
) -> list[ApplyResult]:
    """Server-side apply each manifest; never stops early, so every rejection is reported.

    ``field_manager`` stays ``FIELD_MANAGER`` for tenant manifests: the audit log's attribution
    (``harness.detectors.attribution``) counts requests under that manager as a tenant's; the
    harness's own manifests (platform components) pass their own manager.
    """
    results: list[ApplyResult] = []
    with contextlib.closing(api_client(kubeconfig)) as api:
        dyn = dynamic.DynamicClient(api)
        for manifest in manifests:
            body = manifest.body
            try:
                resource = dyn.resources.get(api_version=body["apiVersion"], kind=body["kind"])
                kwargs: dict[str, Any] = {"field_manager": field_manager, "force_conflicts": True}
                if dry_run:
                    kwargs["dry_run"] = "All"
                namespace = body.get("metadata", {}).get("namespace")
                resource.server_side_apply(body=body, name=body["metadata"]["name"], namespace=namespace, **kwargs)
                results.append(ApplyResult(manifest, True))
            except dynamic.exceptions.ResourceNotFoundError:
                results.append(ApplyResult(manifest, False, f"{body['apiVersion']} {body['kind']} is not served"))
            except client.ApiException as exc:
                results.append(ApplyResult(manifest, False, _api_message(exc)))
            except dynamic.exceptions.DynamicApiError as exc:
                results.append(ApplyResult(manifest, False, _api_message(exc)))
    return results


def _api_message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    try:
        return str(json.loads(body).get("message")) if body else str(exc)
    except (ValueError, AttributeError):
        return str(exc)[:500]
