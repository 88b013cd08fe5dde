"""``spin-harness export``: capture tenant workloads from a live cluster as clean manifests.

The output is a directory an ops person can read and a replay can apply: ``index.yaml``
(namespaces, files, kinds and API versions), then one directory per namespace with its
``namespace.yaml`` and one file per object. ServiceAccount tokens are never copied and Secret
values become placeholders (``clean``), so an export can be attached to a ticket.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from harness.errors import InputError
from harness.kube.client import api_client
from harness.kube.resources import namespaced_resources, objects_in
from harness.tenancy import tenant_namespaces
from harness.workloads.clean import clean, is_generated

INDEX = "index.yaml"
#: Kinds applied first on replay, so what others refer to exists (namespaced kinds only).
APPLY_ORDER = (
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "Role",
    "RoleBinding",
    "ResourceQuota",
    "LimitRange",
    "PersistentVolumeClaim",
    "Service",
)


@dataclass
class ExportIndex:
    namespaces: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def to_yaml(self) -> str:
        return yaml.safe_dump(
            {"apiVersion": "spin-harness/v1", "kind": "WorkloadExport", "namespaces": self.namespaces}, sort_keys=False
        )


def export_workloads(
    kubeconfig: Path, out: Path, *, namespaces: list[str] | None = None, context: str | None = None
) -> ExportIndex:
    """Write the export of ``namespaces`` (default: every tenant namespace) under ``out``."""
    if out.exists() and any(out.iterdir()):
        raise InputError(f"--out: {out} is not empty", hint="choose a new directory; exports never overwrite")
    index = ExportIndex()
    with contextlib.closing(api_client(kubeconfig, context=context)) as api:
        core = client.CoreV1Api(api)
        chosen = namespaces if namespaces is not None else tenant_namespaces(api)
        existing = {ns.metadata.name: ns for ns in core.list_namespace().items}
        for missing in [n for n in chosen if n not in existing]:
            raise InputError(f"--namespaces: {missing!r} does not exist on the cluster")
        resources = namespaced_resources(api, verbs=("list", "create"))
        for namespace in chosen:
            directory = out / namespace
            directory.mkdir(parents=True, exist_ok=True)
            ns = api.sanitize_for_serialization(existing[namespace])
            ns_manifest = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {k: v for k, v in ns["metadata"].items() if k in ("name", "labels", "annotations")},
            }
            _write(directory / "namespace.yaml", clean(ns_manifest))
            entries = [{"file": f"{namespace}/namespace.yaml", "kind": "Namespace", "apiVersion": "v1"}]
            for item in objects_in(api, namespace, resources):
                if is_generated(item):
                    continue
                kind, name = item["kind"], item["metadata"]["name"]
                file = directory / f"{kind}-{name}.yaml"
                _write(file, clean(item))
                entries.append({"file": f"{namespace}/{file.name}", "kind": kind, "apiVersion": item["apiVersion"]})
            index.namespaces[namespace] = entries
    (out / INDEX).write_text(index.to_yaml())
    return index


def _write(path: Path, manifest: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
