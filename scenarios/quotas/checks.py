"""Checks of the quotas scenario that a declarative step cannot express."""

from __future__ import annotations

from kubernetes import client

from harness.scenarios import CheckContext


def _millicores(quantity: str) -> int:
    """CPU quantity ("100m", "1", "1.5") in millicores."""
    text = str(quantity)
    return int(text[:-1]) if text.endswith("m") else round(float(text) * 1000)


def quota_counts_pod(api: client.ApiClient, ctx: CheckContext, pod: str, quota: str) -> str:
    """the ResourceQuota counts the pod: used pods and used CPU requests include it.

    Other workloads may share the namespace, so the check is "at least", not "equal".
    """
    assert ctx.tenant is not None, "quota_counts_pod runs per tenant"
    core = client.CoreV1Api(api)
    namespace = ctx.tenant.namespace
    requested = sum(
        _millicores((c.resources.requests or {}).get("cpu", "0"))
        for c in core.read_namespaced_pod(pod, namespace).spec.containers
    )
    used = core.read_namespaced_resource_quota(quota, namespace).status.used or {}
    pods, cpu = int(used.get("pods", "0")), _millicores(used.get("requests.cpu", "0"))
    assert pods >= 1 and cpu >= requested, (
        f"quota {quota} shows {pods} pod(s) and {cpu}m CPU requested; pod {pod} alone requests {requested}m"
    )
    return f"quota {quota} counts {pods} pod(s), {cpu}m CPU requested (pod {pod}: {requested}m)"
