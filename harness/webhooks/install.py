"""Scenario checks that put the platform's admission webhook and its CEL twin into a cluster.

Scenarios that depend on the platform's admission policy (``admission-webhooks``,
``global-fs-mounts``) register the harness's webhook server by URL, label the nodes that have
the global filesystem mounted, and undo both at teardown. These are check functions
(``function(api, ctx, **args)``, the docstring's first line saying what holds) that such a
scenario's ``checks.py`` re-exports in its ``__all__``. Registrations are server-side applies
under the scenario's field manager and node labels are merge patches, so running one twice
(setup, then verify, or a second scenario sharing the cluster) changes nothing.

The scenarios keep the tenant's global-filesystem work in ``tenant-<name>-<namespace_suffix>``
(a scenario parameter), where the pods named by these checks live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kubernetes import client

from harness.kube.labels import PLATFORM_DOMAIN, field_manager, managed_labels
from harness.scenarios.context import CheckContext
from harness.scenarios.rest import Discovery, Kube
from harness.scenarios.services import ADMISSION_WEBHOOK
from harness.webhooks.manifests import (
    DEFAULT_NAME,
    DEFAULT_POLICY_NAME,
    registration_manifests,
    validating_admission_policy_manifests,
)
from harness.webhooks.policy import GLOBAL_FS_NODE_LABEL, GLOBAL_FS_NODE_VALUE
from harness.webhooks.server import WebhookServer

#: Namespaces opt into the global-filesystem policy with this label; registrations select them.
POLICY_LABEL = f"{PLATFORM_DOMAIN}/policy"
POLICY_VALUE = "global-fs"
POLICY_SELECTOR = {"matchLabels": {POLICY_LABEL: POLICY_VALUE}}


def apply_all(api: client.ApiClient, manifests: list[dict[str, Any]], field_manager: str) -> None:
    """Server-side apply each manifest, in order, under ``field_manager``."""
    kube = Kube(api, Discovery(api))
    for manifest in manifests:
        kube.apply(manifest, field_manager)


def delete_all(removals: Iterable[tuple[Callable[[str], object], str]]) -> int:
    """Call each ``(delete, name)``; an absent object (404) is fine. Returns how many were removed."""
    removed = 0
    for delete, name in removals:
        try:
            delete(name)
            removed += 1
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    return removed


def webhook_server(ctx: CheckContext) -> WebhookServer:
    """The harness's running webhook server (the scenario lists ``services: [admission-webhook]``)."""
    server = ctx.services.get(ADMISSION_WEBHOOK)
    assert isinstance(server, WebhookServer), f"the scenario must list services: [{ADMISSION_WEBHOOK}]"
    return server


def suffixed_namespace(ctx: CheckContext, suffix_param: str) -> str:
    """The current tenant's namespace ``<tenant namespace>-<params[suffix_param]>``."""
    return f"{ctx.variables['tenant']['namespace']}-{ctx.params[suffix_param]}"


def global_fs_namespace(ctx: CheckContext) -> str:
    """The current tenant's global-filesystem namespace."""
    return suffixed_namespace(ctx, "namespace_suffix")


def register_webhooks(
    api: client.ApiClient, ctx: CheckContext, failure_policy: str = "Fail", timeout_seconds: int = 3
) -> str:
    """the harness's webhook server is registered by URL, validating and mutating, for policy namespaces

    The server answers from this process, over loopback or the kind network's bridge, in
    milliseconds; 3 s is still a wide margin, and is what a slow-webhook check waits
    (admission-webhooks' ``timeout_seconds``, which global-fs-mounts' registrations of the same
    objects must agree with).
    """
    server = webhook_server(ctx)
    manifests = registration_manifests(
        server,
        name=DEFAULT_NAME,
        failure_policy=failure_policy,
        timeout_seconds=timeout_seconds,
        namespace_selector=POLICY_SELECTOR,
    )
    apply_all(api, manifests, field_manager(ctx.scenario))
    return f"{len(manifests)} registrations pointing at {server.url} (failurePolicy {failure_policy})"


def install_policy_twin(api: client.ApiClient, ctx: CheckContext) -> str:
    """the ValidatingAdmissionPolicy (CEL) twin of the host-isolation rules is installed"""
    manifests = validating_admission_policy_manifests(name=DEFAULT_POLICY_NAME, namespace_selector=POLICY_SELECTOR)
    apply_all(api, manifests, field_manager(ctx.scenario))
    return f"{DEFAULT_POLICY_NAME} and its binding"


def remove_registrations(api: client.ApiClient, ctx: CheckContext) -> str:
    """the webhook registrations and the policy twin are removed (absent ones are fine)"""
    admission = client.AdmissionregistrationV1Api(api)
    removals = (
        (admission.delete_validating_webhook_configuration, DEFAULT_NAME),
        (admission.delete_mutating_webhook_configuration, DEFAULT_NAME),
        (admission.delete_validating_admission_policy_binding, DEFAULT_POLICY_NAME),
        (admission.delete_validating_admission_policy, DEFAULT_POLICY_NAME),
    )
    return f"{delete_all(removals)} removed"


def _nodes(api: client.ApiClient) -> list[client.V1Node]:
    return sorted(client.CoreV1Api(api).list_node().items, key=lambda n: n.metadata.name)


def _schedulable(node: client.V1Node) -> bool:
    taints = node.spec.taints or []
    return not node.spec.unschedulable and not any(t.effect in ("NoSchedule", "NoExecute") for t in taints)


def label_global_fs_node(api: client.ApiClient, ctx: CheckContext) -> str:
    """the first node (by name) that takes tenant pods is labelled as having the global filesystem mounted"""
    nodes = _nodes(api)
    node = str(next((n for n in nodes if _schedulable(n)), nodes[0]).metadata.name)
    client.CoreV1Api(api).patch_node(node, {"metadata": {"labels": {GLOBAL_FS_NODE_LABEL: GLOBAL_FS_NODE_VALUE}}})
    return node


def unlabel_global_fs_node(api: client.ApiClient, ctx: CheckContext) -> str:
    """no node keeps the global-filesystem label"""
    core = client.CoreV1Api(api)
    labelled = [str(n.metadata.name) for n in _nodes(api) if GLOBAL_FS_NODE_LABEL in (n.metadata.labels or {})]
    for node in labelled:
        core.patch_node(node, {"metadata": {"labels": {GLOBAL_FS_NODE_LABEL: None}}})
    return ", ".join(labelled) or "no node was labelled"


def on_global_fs_node(api: client.ApiClient, ctx: CheckContext, pod: str) -> str:
    """the pod runs on a node that has the global filesystem mounted"""
    namespace = global_fs_namespace(ctx)
    core = client.CoreV1Api(api)
    node_name = core.read_namespaced_pod(pod, namespace).spec.node_name
    assert node_name, f"pod {namespace}/{pod} is not scheduled"
    labels = core.read_node(node_name).metadata.labels or {}
    assert labels.get(GLOBAL_FS_NODE_LABEL) == GLOBAL_FS_NODE_VALUE, (
        f"pod {namespace}/{pod} runs on {node_name}, which has no {GLOBAL_FS_NODE_LABEL}={GLOBAL_FS_NODE_VALUE}"
    )
    return str(node_name)


def seed_global_fs(api: client.ApiClient, ctx: CheckContext, timeout: float = 90) -> str:
    """the tenant's project directory exists on the global filesystem, owned by the tenant, with the marker file

    What a centre's storage team does for each new project, done by a short-lived admin pod in
    ``kube-system`` that mounts the filesystem's root: ``work`` (the tenant's, mode 0750) holding
    the marker file, and ``readonly/datasets``. Only where pods really run (the step requires
    ``real-containers``); the pod is removed again either way.
    """
    import time

    tenant = ctx.variables["tenant"]
    root = ctx.params["global_fs_root"]
    project = f"/fs/{tenant['name']}"
    marker = ctx.params.get("marker") or {"file": ".spin-harness-marker", "text": "spin-harness global filesystem"}
    script = (
        f"set -e; mkdir -p {project}/work {project}/readonly/datasets; "
        f'printf "%s\\n" "$MARKER_TEXT" > {project}/work/{marker["file"]}; '
        f"chown -R {tenant['uid']}:{tenant['gid']} {project}/work; chmod 0750 {project}/work; "
        f"chmod 0640 {project}/work/{marker['file']}; chmod -R a+rX {project}/readonly"
    )
    name = f"spin-seed-{tenant['name']}"[:63]
    core = client.CoreV1Api(api)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "kube-system",
            "labels": managed_labels(),
        },
        "spec": {
            "restartPolicy": "Never",
            "tolerations": [{"operator": "Exists"}],
            "containers": [
                {
                    "name": "seed",
                    "image": ctx.params["image"],
                    "command": ["sh", "-c", script],
                    "env": [{"name": "MARKER_TEXT", "value": marker["text"]}],
                    "securityContext": {"runAsUser": 0},
                    "volumeMounts": [{"name": "fs", "mountPath": "/fs"}],
                }
            ],
            "volumes": [{"name": "fs", "hostPath": {"path": root, "type": "Directory"}}],
        },
    }
    try:
        core.delete_namespaced_pod(name, "kube-system", grace_period_seconds=0)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
    deadline = time.monotonic() + timeout
    while True:  # a pod of the same name may still be terminating
        try:
            core.create_namespaced_pod("kube-system", pod)
            break
        except client.ApiException as exc:
            if exc.status != 409 or time.monotonic() > deadline:
                raise
            time.sleep(1)
    try:
        phase = ""
        while time.monotonic() < deadline:
            phase = core.read_namespaced_pod(name, "kube-system").status.phase or ""
            if phase in ("Succeeded", "Failed"):
                break
            time.sleep(1)
        logs = core.read_namespaced_pod_log(name, "kube-system") if phase in ("Succeeded", "Failed") else ""
        assert phase == "Succeeded", f"seeding pod kube-system/{name} ended {phase or 'not at all'}: {logs[-300:]!r}"
    finally:
        core.delete_namespaced_pod(name, "kube-system", grace_period_seconds=0)
    return f"{root}/{tenant['name']}/work owned by {tenant['uid']}:{tenant['gid']}, marker {marker['file']}"
