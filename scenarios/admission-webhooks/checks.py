"""Checks of the admission-webhooks scenario that a declarative step cannot express.

The webhook server is the harness's own (``services: [admission-webhook]``): registering it
needs its URL and CA bundle, and the failure-policy and timeout checks switch it into a
failing mode for one request and back, so they are Python.
"""

from __future__ import annotations

import json
import time
from typing import Any

from kubernetes import client

from harness.scenarios import CheckContext
from harness.webhooks import install
from harness.webhooks.server import Mode, WebhookServer


def _server(ctx: CheckContext) -> WebhookServer:
    server = ctx.services.get("admission-webhook")
    assert isinstance(server, WebhookServer), "the scenario lists services: [admission-webhook]"
    return server


def _namespace(ctx: CheckContext) -> str:
    return f"{ctx.variables['tenant']['namespace']}-{ctx.params['namespace_suffix']}"


def register_webhooks(
    api: client.ApiClient, ctx: CheckContext, failure_policy: str = "Fail", timeout_seconds: int = 5
) -> str:
    """register the harness's webhook server by URL, validating and mutating, for policy namespaces"""
    server = _server(ctx)
    count = install.register(
        api, server, f"spin-harness/{ctx.scenario}", failure_policy=failure_policy, timeout_seconds=timeout_seconds
    )
    return f"{count} registrations pointing at {server.url} (failurePolicy {failure_policy})"


def install_policy_twin(api: client.ApiClient, ctx: CheckContext) -> str:
    """install the ValidatingAdmissionPolicy (CEL) twin of the host-isolation rules"""
    install.install_policy_twin(api, f"spin-harness/{ctx.scenario}")
    return "policy and binding applied"


def remove_registrations(api: client.ApiClient, ctx: CheckContext) -> str:
    """remove the webhook registrations and the policy twin (absent ones are fine)"""
    return f"{install.unregister(api)} removed"


def label_global_fs_node(api: client.ApiClient, ctx: CheckContext) -> str:
    """mark the first node as having the global filesystem mounted (the "is storage mounted?" label)"""
    return install.label_global_fs_node(api)


def unlabel_global_fs_node(api: client.ApiClient, ctx: CheckContext) -> str:
    """take the global-filesystem label off every node"""
    return ", ".join(install.unlabel_global_fs_nodes(api)) or "no node was labelled"


def on_global_fs_node(api: client.ApiClient, ctx: CheckContext, pod: str) -> str:
    """the pod runs on a node that has the global filesystem mounted"""
    return install.assert_on_global_fs_node(api, _namespace(ctx), pod)


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
                    "image": "registry.invalid/analysis:1",
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


def _refusal_while(ctx: CheckContext, api: client.ApiClient, mode: Mode) -> tuple[int, str, float]:
    """Dry-run a compliant pod with the server in ``mode``: (status, message, seconds)."""
    server = _server(ctx)
    namespace = _namespace(ctx)
    previous = server.mode
    server.mode = mode
    started = time.monotonic()
    try:
        client.CoreV1Api(api).create_namespaced_pod(
            namespace, _compliant_pod(ctx, f"while-{mode.value}"), dry_run="All"
        )
    except client.ApiException as exc:
        body = json.loads(exc.body or "{}") if (exc.body or "").startswith("{") else {}
        return int(exc.status or 0), str(body.get("message", exc.reason)), time.monotonic() - started
    finally:
        server.mode = previous
    return 0, "", time.monotonic() - started


def refused_while_down(api: client.ApiClient, ctx: CheckContext) -> str:
    """with the webhook server down, failurePolicy Fail refuses even a compliant pod"""
    status, message, _ = _refusal_while(ctx, api, Mode.DOWN)
    assert status >= 500 and "failed calling webhook" in message, (
        f"expected the apiserver to refuse the pod because the webhook is down, got {status}: {message[:300]}"
    )
    return f"{status}: {message[:120]}"


def refused_when_too_slow(api: client.ApiClient, ctx: CheckContext, timeout_seconds: int = 5) -> str:
    """a webhook slower than timeoutSeconds fails the request after timeoutSeconds, not later"""
    status, message, seconds = _refusal_while(ctx, api, Mode.SLOW)
    assert status >= 500, f"expected a refusal after the webhook timed out, got {status}: {message[:300]}"
    assert seconds < timeout_seconds + 2.5, f"the apiserver waited {seconds:.1f}s for a {timeout_seconds}s timeout"
    return f"refused after {seconds:.1f}s: {message[:120]}"
