"""Checks of the global-fs-mounts scenario that a declarative step cannot express."""

from __future__ import annotations

from kubernetes import client

from harness.scenarios import CheckContext
from harness.webhooks import install
from harness.webhooks.server import WebhookServer


def _namespace(ctx: CheckContext) -> str:
    return f"{ctx.variables['tenant']['namespace']}-{ctx.params['namespace_suffix']}"


def register_webhooks(api: client.ApiClient, ctx: CheckContext) -> str:
    """the platform's webhook guards the global-filesystem namespaces (failurePolicy Fail)"""
    server = ctx.services.get("admission-webhook")
    assert isinstance(server, WebhookServer), "the scenario lists services: [admission-webhook]"
    return f"{install.register(api, server, f'spin-harness/{ctx.scenario}')} registrations for {server.url}"


def remove_registrations(api: client.ApiClient, ctx: CheckContext) -> str:
    """the webhook registrations are removed (absent ones are fine)"""
    return f"{install.unregister(api)} removed"


def label_global_fs_node(api: client.ApiClient, ctx: CheckContext) -> str:
    """one node is labelled as having the global filesystem mounted"""
    return install.label_global_fs_node(api)


def unlabel_global_fs_node(api: client.ApiClient, ctx: CheckContext) -> str:
    """no node keeps the global-filesystem label"""
    return ", ".join(install.unlabel_global_fs_nodes(api)) or "no node was labelled"


def on_global_fs_node(api: client.ApiClient, ctx: CheckContext, pod: str) -> str:
    """the pod runs on a node that has the global filesystem mounted"""
    return install.assert_on_global_fs_node(api, _namespace(ctx), pod)


def reads_marker(api: client.ApiClient, ctx: CheckContext, pod: str, expected: str) -> str:
    """the pod printed the marker file it read through its global-filesystem mount"""
    logs = client.CoreV1Api(api).read_namespaced_pod_log(pod, _namespace(ctx))
    assert expected in logs, f"pod {_namespace(ctx)}/{pod} printed {logs[:200]!r}, not the marker {expected!r}"
    return "marker read through the mount"
