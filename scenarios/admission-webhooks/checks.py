"""Checks of the admission-webhooks scenario that a declarative step cannot express.

The webhook server is the harness's own (``services: [admission-webhook]``): registering it
needs its URL and CA bundle (shared with global-fs-mounts, in ``harness.webhooks.install``),
and the failure-policy and timeout checks switch it into a failing mode for one request and
back, so they are Python.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from kubernetes import client

from harness.kube.waits import wait_until
from harness.scenarios import CheckContext
from harness.scenarios.context import tenant_context
from harness.webhooks.deployment import InClusterWebhook
from harness.webhooks.install import (
    global_fs_namespace,
    install_policy_twin,
    label_global_fs_node,
    on_global_fs_node,
    register_webhooks,
    remove_registrations,
    unlabel_global_fs_node,
    webhook_server,
)
from harness.webhooks.install_in_cluster import (
    deploy_in_cluster_webhook,
    in_cluster_namespace,
    in_cluster_webhook_ready,
    in_cluster_webhook_reviewed,
    remove_in_cluster_webhook,
    scale,
)
from harness.webhooks.server import Mode

#: Admissions in a row (half a second or more apart), with the in-cluster webhook's pods back,
#: before the step counts them back.
ADMITTED_IN_A_ROW = 5

__all__ = [
    "deploy_in_cluster_webhook",
    "in_cluster_refused_without_pods",
    "in_cluster_webhook_ready",
    "in_cluster_webhook_reviewed",
    "install_policy_twin",
    "label_global_fs_node",
    "on_global_fs_node",
    "refused_when_too_slow",
    "refused_while_down",
    "register_webhooks",
    "remove_in_cluster_webhook",
    "remove_registrations",
    "unlabel_global_fs_node",
]


def _compliant_pod(ctx: CheckContext, name: str) -> dict[str, Any]:
    tenant = ctx.variables["tenant"]
    root = f"{ctx.params['global_fs_root']}/{tenant['name']}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": ctx.params["image"],
                    "securityContext": {
                        "runAsUser": tenant["uid"],
                        "runAsGroup": tenant["gid"],
                        "runAsNonRoot": True,
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "volumeMounts": [{"name": "project", "mountPath": "/project"}],
                }
            ],
            "volumes": [{"name": "project", "hostPath": {"path": f"{root}/work"}}],
        },
    }


def _first_tenant(ctx: CheckContext) -> CheckContext:
    """``ctx`` bound to the first tenant when the step runs once for the cluster (``per_tenant: false``)."""
    if ctx.tenant is not None or not ctx.tenants:
        return ctx
    first = ctx.tenants[0]
    return dataclasses.replace(ctx, tenant=first, variables=tenant_context(ctx.variables, ctx.tenants, first))


def _dry_run_compliant(api: client.ApiClient, ctx: CheckContext, namespace: str, name: str) -> tuple[int, str]:
    """Dry-run a compliant pod: (0, "") when admitted, else (status, the apiserver's message)."""
    try:
        client.CoreV1Api(api).create_namespaced_pod(namespace, _compliant_pod(ctx, name), dry_run="All")
    except client.ApiException as exc:
        body = json.loads(exc.body or "{}") if (exc.body or "").startswith("{") else {}
        return int(exc.status or 0), str(body.get("message", exc.reason))
    return 0, ""


def _refusal_while(ctx: CheckContext, api: client.ApiClient, mode: Mode) -> tuple[int, str, float]:
    """Dry-run a compliant pod with the server in ``mode``: (status, message, seconds)."""
    server = webhook_server(ctx)
    previous = server.mode
    server.mode = mode
    started = time.monotonic()
    try:
        status, message = _dry_run_compliant(api, ctx, global_fs_namespace(ctx), f"while-{mode.value}")
    finally:
        server.mode = previous
    return status, message, time.monotonic() - started


def refused_while_down(api: client.ApiClient, ctx: CheckContext) -> str:
    """with the webhook server down, failurePolicy Fail refuses even a compliant pod"""
    status, message, _ = _refusal_while(ctx, api, Mode.DOWN)
    assert status >= 500 and "failed calling webhook" in message, (
        f"expected the apiserver to refuse the pod because the webhook is down, got {status}: {message[:300]}"
    )
    return f"{status}: {message[:120]}"


def refused_when_too_slow(api: client.ApiClient, ctx: CheckContext, timeout_seconds: int = 3) -> str:
    """a webhook slower than timeoutSeconds fails the request after timeoutSeconds, not later"""
    # The timeout belongs to the registrations, which every tenant shares: one request shows it,
    # and each more would wait the whole timeout again.
    status, message, seconds = _refusal_while(_first_tenant(ctx), api, Mode.SLOW)
    assert status >= 500, f"expected a refusal after the webhook timed out, got {status}: {message[:300]}"
    assert seconds < timeout_seconds + 2.5, f"the apiserver waited {seconds:.1f}s for a {timeout_seconds}s timeout"
    return f"refused after {seconds:.1f}s: {message[:120]}"


def in_cluster_refused_without_pods(api: client.ApiClient, ctx: CheckContext) -> str:
    """with no in-cluster webhook pod, failurePolicy Fail refuses a compliant pod; with them back, it is admitted"""
    webhook = InClusterWebhook()
    replicas = client.AppsV1Api(api).read_namespaced_deployment(webhook.name, webhook.namespace).spec.replicas or 1
    namespace = in_cluster_namespace(ctx)
    scale(api, webhook, 0)
    try:
        status, message = _dry_run_compliant(api, ctx, namespace, "in-cluster-without-pods")
    finally:
        scale(api, webhook, replicas)
    assert status >= 500 and "failed calling webhook" in message and "in-cluster" in message, (
        f"expected the apiserver to refuse the pod because no in-cluster webhook pod answers, got {status}: "
        f"{message[:300]}"
    )

    in_a_row = 0

    def admitted() -> tuple[bool, str]:
        nonlocal in_a_row
        try:
            back, again = _dry_run_compliant(api, ctx, namespace, "in-cluster-back")
        except Exception:  # the wait retries it, but the row is broken
            in_a_row = 0
            raise
        in_a_row = in_a_row + 1 if back == 0 else 0
        return in_a_row >= ADMITTED_IN_A_ROW, f"{in_a_row} admitted in a row; last: {back}: {again[:300]}"

    # Ready pods are endpoints at once, but kube-proxy on the apiserver's node may still route the
    # Service to the pods that were removed, or to none: what runs next (the admission-change
    # detector after a hop) must find the webhook as it was, so one admission is not enough.
    wait_until(
        f"compliant pods admitted {ADMITTED_IN_A_ROW} times in a row with {replicas} webhook pods back",
        admitted,
        timeout=60,
        interval=0.5,
        max_interval=1,
    )
    return f"refused without pods ({status}: {message[:100]}); admitted again with {replicas} pods"
