"""Putting the platform's admission webhook and its CEL twin into a cluster, and taking them out.

Scenarios that depend on the platform's admission policy (``admission-webhooks``,
``global-fs-mounts``) register the harness's webhook server by URL, label the nodes that have
the global filesystem mounted, and undo both at teardown; their ``checks.py`` call these. Every
write is a server-side apply under the caller's field manager, so running it twice (setup,
then a scenario sharing the cluster) changes nothing.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from harness.scenarios.rest import Discovery, Kube
from harness.webhooks.manifests import (
    DEFAULT_NAME,
    DEFAULT_POLICY_NAME,
    WebhookEndpoint,
    registration_manifests,
    validating_admission_policy_manifests,
)
from harness.webhooks.policy import DOMAIN, GLOBAL_FS_NODE_LABEL, GLOBAL_FS_NODE_VALUE

#: Namespaces opt into the global-filesystem policy with this label; registrations select them.
POLICY_LABEL = f"{DOMAIN}/policy"
POLICY_VALUE = "global-fs"
POLICY_SELECTOR = {"matchLabels": {POLICY_LABEL: POLICY_VALUE}}


def _apply_all(api: client.ApiClient, manifests: list[dict[str, Any]], field_manager: str) -> None:
    kube = Kube(api, Discovery(api))
    for manifest in manifests:
        kube.apply(manifest, field_manager)


def register(
    api: client.ApiClient,
    server: WebhookEndpoint,
    field_manager: str,
    *,
    failure_policy: str = "Fail",
    timeout_seconds: int = 5,
) -> int:
    """Register ``server`` (validating and mutating) for the policy namespaces; how many objects."""
    manifests = registration_manifests(
        server,
        name=DEFAULT_NAME,
        failure_policy=failure_policy,
        timeout_seconds=timeout_seconds,
        namespace_selector=POLICY_SELECTOR,
    )
    _apply_all(api, manifests, field_manager)
    return len(manifests)


def install_policy_twin(api: client.ApiClient, field_manager: str) -> None:
    """The ValidatingAdmissionPolicy twin of the host-isolation rules, for the policy namespaces."""
    _apply_all(
        api,
        validating_admission_policy_manifests(name=DEFAULT_POLICY_NAME, namespace_selector=POLICY_SELECTOR),
        field_manager,
    )


def unregister(api: client.ApiClient) -> int:
    """Remove the registrations and the policy twin (absent ones are fine); how many were there."""
    admission = client.AdmissionregistrationV1Api(api)
    removals = (
        (admission.delete_validating_webhook_configuration, DEFAULT_NAME),
        (admission.delete_mutating_webhook_configuration, DEFAULT_NAME),
        (admission.delete_validating_admission_policy_binding, DEFAULT_POLICY_NAME),
        (admission.delete_validating_admission_policy, DEFAULT_POLICY_NAME),
    )
    removed = 0
    for delete, name in removals:
        try:
            delete(name)
            removed += 1
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    return removed


def _nodes(api: client.ApiClient) -> list[client.V1Node]:
    return sorted(client.CoreV1Api(api).list_node().items, key=lambda n: n.metadata.name)


def label_global_fs_node(api: client.ApiClient) -> str:
    """Mark the first node (by name) as having the global filesystem mounted; its name."""
    node = str(_nodes(api)[0].metadata.name)
    client.CoreV1Api(api).patch_node(node, {"metadata": {"labels": {GLOBAL_FS_NODE_LABEL: GLOBAL_FS_NODE_VALUE}}})
    return node


def unlabel_global_fs_nodes(api: client.ApiClient) -> list[str]:
    """Take the global-filesystem label off every node; the nodes that had it."""
    core = client.CoreV1Api(api)
    labelled = [str(n.metadata.name) for n in _nodes(api) if GLOBAL_FS_NODE_LABEL in (n.metadata.labels or {})]
    for node in labelled:
        core.patch_node(node, {"metadata": {"labels": {GLOBAL_FS_NODE_LABEL: None}}})
    return labelled


def assert_on_global_fs_node(api: client.ApiClient, namespace: str, pod: str) -> str:
    """The pod is scheduled to a node labelled as having the global filesystem; that node's name."""
    core = client.CoreV1Api(api)
    node_name = core.read_namespaced_pod(pod, namespace).spec.node_name
    assert node_name, f"pod {namespace}/{pod} is not scheduled"
    labels = core.read_node(node_name).metadata.labels or {}
    assert labels.get(GLOBAL_FS_NODE_LABEL) == GLOBAL_FS_NODE_VALUE, (
        f"pod {namespace}/{pod} runs on {node_name}, which has no {GLOBAL_FS_NODE_LABEL}={GLOBAL_FS_NODE_VALUE}"
    )
    return str(node_name)
