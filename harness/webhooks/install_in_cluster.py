"""Putting the platform's webhook into the cluster as pods, and reading what those pods did.

The functions take an admin ``ApiClient`` and an ``InClusterWebhook`` (tests call them
directly); the ``*_check`` wrappers at the end are scenario checks
(``function(api, ctx, **args)``) that ``admission-webhooks`` re-exports. Applies are
server-side under one field manager, so deploying twice changes only the certificate (and
so rolls the pods, whose template carries its fingerprint).

Evidence that the pods, not the harness's own server, answered comes from two places: the
apiserver's refusals quote the in-cluster registration's webhook names, and each pod logs one
JSON line per review (``harness.webhooks.serve_in_pod``), which ``reviews`` reads back.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from kubernetes import client

from harness.kube.labels import NAME_LABEL, field_manager
from harness.kube.waits import wait_until
from harness.scenarios.context import CheckContext
from harness.webhooks.certs import create_serving_material, service_dns_names
from harness.webhooks.deployment import (
    REGISTRATION_NAME,
    WEBHOOK_NAMES,
    InClusterWebhook,
    deployment_manifests,
)
from harness.webhooks.install import POLICY_LABEL, apply_all, delete_all, suffixed_namespace
from harness.webhooks.manifests import registration_manifests

#: Namespaces opt into the in-cluster webhook with this POLICY_LABEL value (the host's server's is ``global-fs``).
IN_CLUSTER_POLICY = "global-fs-in-cluster"
IN_CLUSTER_SELECTOR = {"matchLabels": {POLICY_LABEL: IN_CLUSTER_POLICY}}
FIELD_MANAGER = field_manager("in-cluster-webhook")


def deploy(
    api: client.ApiClient,
    webhook: InClusterWebhook,
    *,
    namespace_selector: dict[str, Any] | None = None,
    failure_policy: str = "Fail",
    timeout_seconds: int = 5,
    timeout: float = 180,
) -> str:
    """Deploy the pods with a new serving certificate, wait until they serve, then register them."""
    with tempfile.TemporaryDirectory(prefix="spin-webhook-tls-") as scratch:
        # The key lives in the Secret only; the scratch copy goes with the directory.
        material = create_serving_material(
            Path(scratch), None, dns_names=service_dns_names(webhook.name, webhook.namespace)
        )
        manifests = deployment_manifests(webhook, material)
        ca_bundle = material.ca_pem
    apply_all(api, manifests, FIELD_MANAGER)
    ready = wait_ready(api, webhook, timeout=timeout)
    registrations = registration_manifests(
        webhook.endpoint(ca_bundle),
        name=REGISTRATION_NAME,
        failure_policy=failure_policy,
        timeout_seconds=timeout_seconds,
        namespace_selector=namespace_selector if namespace_selector is not None else IN_CLUSTER_SELECTOR,
        webhook_names=WEBHOOK_NAMES,
    )
    apply_all(api, registrations, FIELD_MANAGER)
    return f"{ready}; registered by service {webhook.namespace}/{webhook.name} (failurePolicy {failure_policy})"


def _pods(api: client.ApiClient, webhook: InClusterWebhook) -> list[client.V1Pod]:
    selector = f"{NAME_LABEL}={webhook.name}"
    items = client.CoreV1Api(api).list_namespaced_pod(webhook.namespace, label_selector=selector).items
    return sorted(items, key=lambda p: p.metadata.name)


def _why_not_running(pods: list[client.V1Pod]) -> str:
    """The first waiting reason of the pods (``ErrImageNeverPull``: the image is not on the node)."""
    for pod in pods:
        for status in pod.status.container_statuses or []:
            waiting = status.state.waiting if status.state else None
            if waiting and waiting.reason:
                return f"{pod.metadata.name}: {waiting.reason} {(waiting.message or '')[:200]}".rstrip()
        if pod.status.phase == "Pending" and not pod.spec.node_name:
            return f"{pod.metadata.name}: not scheduled"
    return ""


def wait_ready(api: client.ApiClient, webhook: InClusterWebhook, *, timeout: float = 180) -> str:
    """Every replica of the current template ready, and each ready pod an endpoint of the Service."""
    apps = client.AppsV1Api(api)
    discovery = client.DiscoveryV1Api(api)

    def ready() -> tuple[bool, str]:
        deployment = apps.read_namespaced_deployment(webhook.name, webhook.namespace)
        status = deployment.status
        want = deployment.spec.replicas or 0
        rolled = (
            (status.observed_generation or 0) >= (deployment.metadata.generation or 0)
            and (status.updated_replicas or 0) == want
            and (status.ready_replicas or 0) == want
            and (status.replicas or 0) == want
        )
        slices = discovery.list_namespaced_endpoint_slice(
            webhook.namespace, label_selector=f"kubernetes.io/service-name={webhook.name}"
        ).items
        endpoints = sum(1 for s in slices for e in s.endpoints or [] if e.conditions and e.conditions.ready)
        detail = f"{status.ready_replicas or 0}/{want} ready, {endpoints} endpoints"
        if not rolled or endpoints < want:
            reason = _why_not_running(_pods(api, webhook))
            return False, f"{detail}{'; ' + reason if reason else ''}"
        return True, detail

    wait_until(f"the in-cluster webhook {webhook.namespace}/{webhook.name}", ready, timeout=timeout, max_interval=2)
    nodes = sorted({str(p.spec.node_name) for p in _pods(api, webhook) if p.status.phase == "Running"})
    return f"{webhook.replicas} pods ready on {', '.join(nodes)}"


def scale(api: client.ApiClient, webhook: InClusterWebhook, replicas: int, *, timeout: float = 120) -> None:
    """Set the replica count and wait for it (no pods left, or all ready)."""
    client.AppsV1Api(api).patch_namespaced_deployment_scale(
        webhook.name, webhook.namespace, {"spec": {"replicas": replicas}}
    )
    if replicas:
        wait_ready(api, webhook, timeout=timeout)
        return

    def gone() -> tuple[bool, str]:
        left = [p.metadata.name for p in _pods(api, webhook)]
        return not left, f"still there: {', '.join(left)}"

    wait_until(f"the pods of {webhook.namespace}/{webhook.name} to go", gone, timeout=timeout, max_interval=1)


def reviews(api: client.ApiClient, webhook: InClusterWebhook) -> list[dict[str, Any]]:
    """Every review the current pods logged (metadata only), with the pod's name added."""
    core = client.CoreV1Api(api)
    records: list[dict[str, Any]] = []
    for pod in _pods(api, webhook):
        if pod.status.phase != "Running":
            continue
        text = core.read_namespaced_pod_log(pod.metadata.name, webhook.namespace, container="webhook")
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("event") == "review":
                records.append({**entry, "pod": pod.metadata.name})
    return records


def remove(api: client.ApiClient, webhook: InClusterWebhook) -> str:
    """Registrations first (so nothing calls a webhook being removed), then RBAC and the namespace."""
    admission = client.AdmissionregistrationV1Api(api)
    rbac = client.RbacAuthorizationV1Api(api)
    removals = (
        (admission.delete_validating_webhook_configuration, REGISTRATION_NAME),
        (admission.delete_mutating_webhook_configuration, REGISTRATION_NAME),
        (rbac.delete_cluster_role_binding, webhook.cluster_role),
        (rbac.delete_cluster_role, webhook.cluster_role),
        (client.CoreV1Api(api).delete_namespace, webhook.namespace),
    )
    return f"{delete_all(removals)} of {len(removals)} objects removed"


# -- scenario checks ---------------------------------------------------------------------


def _webhook(ctx: CheckContext) -> InClusterWebhook:
    return InClusterWebhook(image=str(ctx.params.get("webhook_image") or ""))


def in_cluster_namespace(ctx: CheckContext) -> str:
    """The current tenant's namespace that the in-cluster webhook guards."""
    return suffixed_namespace(ctx, "in_cluster_suffix")


def deploy_in_cluster_webhook(
    api: client.ApiClient, ctx: CheckContext, failure_policy: str = "Fail", timeout_seconds: int = 5
) -> str:
    """the webhook runs in the cluster as pods behind a Service, registered by service reference"""
    webhook = _webhook(ctx)
    assert webhook.image, (
        "no webhook image: the provider sets the webhook_image parameter to the image it loaded into its nodes"
    )
    return deploy(api, webhook, failure_policy=failure_policy, timeout_seconds=int(timeout_seconds))


def in_cluster_webhook_ready(api: client.ApiClient, ctx: CheckContext, timeout: float = 180) -> str:
    """every replica of the in-cluster webhook is ready and behind its Service"""
    return wait_ready(api, _webhook(ctx), timeout=float(timeout))


def in_cluster_webhook_reviewed(api: client.ApiClient, ctx: CheckContext) -> str:
    """the in-cluster webhook's own log shows it refused and admitted the tenant's pods"""
    namespace = in_cluster_namespace(ctx)
    records = [r for r in reviews(api, _webhook(ctx)) if r.get("namespace") == namespace]
    denied = [r for r in records if r.get("decision") == "denied"]
    allowed = [r for r in records if r.get("decision") == "allowed"]
    assert denied and allowed, (
        f"the in-cluster webhook's pods logged {len(denied)} refusals and {len(allowed)} admissions in {namespace}; "
        "expected both (the verify steps before this one make them)"
    )
    pods = sorted({str(r["pod"]) for r in records})
    codes = sorted({c for r in denied for c in r.get("codes", [])})
    return f"{len(denied)} refused ({', '.join(codes)}), {len(allowed)} admitted, by {', '.join(pods)}"


def remove_in_cluster_webhook(api: client.ApiClient, ctx: CheckContext) -> str:
    """the in-cluster webhook, its registrations and its RBAC are removed (absent ones are fine)"""
    return remove(api, _webhook(ctx))
