"""A failed cell's evidence: component logs, the audit log, events and tenant objects.

Collected once per cell, whatever failed, into ``<report>/artifacts/<cell>/`` (Cluster API's
e2e framework dumps resources and logs the same way after every spec).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

from kubernetes import client

from harness.detectors import drift
from harness.kube.client import api_client
from harness.providers import Cluster


def artifact_dir_name(cell_id: str) -> str:
    """A directory name for a cell (its id has ':' and '>')."""
    return "".join(c if c.isalnum() or c in "-." else "_" for c in cell_id)


def collect_artifacts(cluster: Cluster, target: Path, reason: str) -> Path:
    """Copy component logs and the audit log, and dump tenant objects (Secrets redacted)."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "reason.txt").write_text(reason + "\n")
    for name, log in cluster.logs.items():
        if log.is_file():
            shutil.copy2(log, target / f"{name}.log")
    if cluster.audit_log and cluster.audit_log.is_file():
        shutil.copy2(cluster.audit_log, target / "audit.log")
    with contextlib.suppress(Exception), contextlib.closing(api_client(cluster.kubeconfig)) as api:
        objects = drift.snapshot(api)  # already normalised and redacted
        (target / "tenant-objects.json").write_text(json.dumps(objects, indent=2, sort_keys=True, default=str))
        events = client.CoreV1Api(api).list_event_for_all_namespaces().items
        (target / "events.txt").write_text(
            "\n".join(
                f"{e.last_timestamp} {e.involved_object.namespace}/{e.involved_object.kind}/"
                f"{e.involved_object.name} {e.reason}: {e.message}"
                for e in events
            )
        )
    return target
