"""Applying an export (or any directory of manifests) to a cluster, in dependency order.

Server-side apply with one field manager, so replaying twice is a no-op and the harness's
fields are distinguishable from the tenants' later edits. ``dry_run`` submits everything with
server-side dry-run instead: the ``dry-run-rejected`` check of a target version. Each request is
made on behalf of its manifest (``harness.kube.api_warnings``), so the apiserver's warnings
about it land in ``ApplyResult.warnings`` and, when the caller records, in its warning log.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client, dynamic

from harness.kube.api_warnings import on_behalf_of
from harness.kube.client import api_client
from harness.kube.labels import MANAGER
from harness.kube.secret_values import Scrubber
from harness.workloads.export import APPLY_ORDER
from harness.workloads.manifest import Manifest
from harness.workloads.read import read_workloads

__all__ = ["FIELD_MANAGER", "ApplyResult", "Manifest", "apply_manifests", "load_manifests", "ordered"]

#: Tenant manifests are applied under the bare harness name; the harness's own parts use ``spin-harness/<part>``.
FIELD_MANAGER = MANAGER


@dataclass(frozen=True)
class ApplyResult:
    manifest: Manifest
    ok: bool
    message: str = ""
    warnings: tuple[str, ...] = ()


def load_manifests(path: Path) -> list[Manifest]:
    """Every object of a file, folder or chart (``harness.workloads.read``), in apply order."""
    return ordered(read_workloads([path]).manifests)


def ordered(manifests: list[Manifest]) -> list[Manifest]:
    """Namespaces, then CRDs, then what others refer to (``APPLY_ORDER``), then the rest."""
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
    scrubber = Scrubber()  # the tenants' Secret values never reach a warning kept for a report
    scrubber.learn([m.body for m in manifests])
    with contextlib.closing(api_client(kubeconfig)) as api, tempfile.TemporaryDirectory(prefix="spin-apply-") as tmp:
        # The client's default discovery cache is a file in /tmp named after the server's address,
        # kept forever and shared by every process: a later cluster on the same port (a scratch
        # cluster, the cell's after a hop) would be answered from an earlier one's APIs, and the
        # files would pile up. This call's cache lives and dies with it.
        dyn = dynamic.DynamicClient(api, cache_file=str(Path(tmp) / "discovery.json"))
        for manifest in manifests:
            with on_behalf_of(
                object_label=manifest.label,
                manifest=str(manifest.source),
                document=manifest.document,
                scrub=scrubber.scrub,
            ) as heard:
                ok, message = _apply_one(dyn, applyable(manifest.body), dry_run=dry_run, field_manager=field_manager)
            results.append(ApplyResult(manifest, ok, scrubber.scrub(message), tuple(heard)))
    return results


def _apply_one(
    dyn: dynamic.DynamicClient, body: dict[str, Any], *, dry_run: bool, field_manager: str
) -> tuple[bool, str]:
    """Server-side apply one manifest: (accepted, the server's message when not)."""
    try:
        resource = dyn.resources.get(api_version=body["apiVersion"], kind=body["kind"])
        kwargs: dict[str, Any] = {"field_manager": field_manager, "force_conflicts": True}
        if dry_run:
            kwargs["dry_run"] = "All"
        namespace = body.get("metadata", {}).get("namespace")
        resource.server_side_apply(body=body, name=body["metadata"]["name"], namespace=namespace, **kwargs)
    except dynamic.exceptions.ResourceNotFoundError:
        return False, f"{body['apiVersion']} {body['kind']} is not served"
    except (client.ApiException, dynamic.exceptions.DynamicApiError) as exc:
        return False, _api_message(exc)
    return True, ""


#: What a server wrote into an object it served (``kubectl get -o yaml`` keeps it); applying it
#: back fails (a resourceVersion or uid is a precondition on an object that does not exist yet).
_SERVER_METADATA = ("uid", "resourceVersion", "selfLink", "managedFields", "creationTimestamp", "generation")


def applyable(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without the server's bookkeeping (status, identity), so a dump replays like a manifest."""
    metadata = body.get("metadata")
    if "status" not in body and not (isinstance(metadata, dict) and set(metadata) & set(_SERVER_METADATA)):
        return body
    out = {k: v for k, v in body.items() if k != "status"}
    if isinstance(metadata, dict):
        out["metadata"] = {k: v for k, v in metadata.items() if k not in _SERVER_METADATA}
    return out


def _api_message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    try:
        return str(json.loads(body).get("message")) if body else str(exc)
    except (ValueError, AttributeError):
        return str(exc)[:500]
