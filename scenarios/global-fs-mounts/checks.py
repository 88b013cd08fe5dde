"""Checks of the global-fs-mounts scenario that a declarative step cannot express.

Registering the harness's webhook and labelling the global-filesystem node are shared with
admission-webhooks (``harness.webhooks.install``); reading the marker file is this scenario's.
"""

from __future__ import annotations

from kubernetes import client

from harness.scenarios import CheckContext
from harness.webhooks.install import (
    global_fs_namespace,
    label_global_fs_node,
    on_global_fs_node,
    register_webhooks,
    remove_registrations,
    seed_global_fs,
    unlabel_global_fs_node,
)

__all__ = [
    "label_global_fs_node",
    "on_global_fs_node",
    "reads_marker",
    "register_webhooks",
    "remove_registrations",
    "seed_global_fs",
    "unlabel_global_fs_node",
]


def reads_marker(api: client.ApiClient, ctx: CheckContext, pod: str, expected: str) -> str:
    """the pod printed the marker file it read through its global-filesystem mount"""
    namespace = global_fs_namespace(ctx)
    logs = client.CoreV1Api(api).read_namespaced_pod_log(pod, namespace)
    assert expected in logs, f"pod {namespace}/{pod} printed {logs[:200]!r}, not the marker {expected!r}"
    return "marker read through the mount"
