"""What "ready" means for nodes, pods and a fresh cluster, the same for every provider."""

from __future__ import annotations

from kubernetes import client

from harness.kube.waits import wait_until


def node_is_ready(node: client.V1Node) -> bool:
    conditions = (node.status.conditions if node.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def pod_is_ready(pod: client.V1Pod) -> bool:
    """Ready, or a finished one-shot pod (``Succeeded``)."""
    if pod.status.phase == "Succeeded":
        return True
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def has_no_schedule_taint(node: client.V1Node) -> bool:
    return any(t.effect == "NoSchedule" for t in (node.spec.taints or []))


def wait_default_service_account(core: client.CoreV1Api, *, timeout: float) -> None:
    """Wait for the ``default`` ServiceAccount of ``default``: until then no pod there can be created."""

    def default_sa() -> tuple[bool, str]:
        names = [sa.metadata.name for sa in core.list_namespaced_service_account("default").items]
        return "default" in names, f"service accounts in default: {names}"

    wait_until("the default ServiceAccount", default_sa, timeout=timeout)
