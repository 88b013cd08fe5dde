"""Checks of the workflows scenario that a declarative step cannot express."""

from __future__ import annotations

from kubernetes import client

from harness.scenarios import CheckContext


def ready_endpoints(api: client.ApiClient, ctx: CheckContext, service: str, count: int) -> str:
    """the Service routes to exactly its ready pods (EndpointSlices list them as ready).

    Counts ready endpoints over every EndpointSlice of ``service`` in the tenant namespace;
    a Service whose selector no longer matches, or pods that are not ready, show as fewer.
    """
    assert ctx.tenant is not None, "ready_endpoints runs per tenant"
    slices = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(
        ctx.tenant.namespace, label_selector=f"kubernetes.io/service-name={service}"
    )
    ready = [
        address
        for item in slices.items
        for endpoint in item.endpoints or []
        if endpoint.conditions is None or endpoint.conditions.ready is not False
        for address in endpoint.addresses or []
    ]
    assert len(ready) == count, f"{len(ready)} ready endpoint(s) for Service {service}, expected {count}: {ready}"
    return f"{count} ready endpoint(s): {', '.join(sorted(ready))}"


def job_logs_contain(api: client.ApiClient, ctx: CheckContext, job: str, text: str) -> str:
    """the Job's pod really ran: its log contains the expected output.

    Only meaningful where containers really run (capability ``real-containers``).
    """
    assert ctx.tenant is not None, "job_logs_contain runs per tenant"
    core = client.CoreV1Api(api)
    pods = core.list_namespaced_pod(ctx.tenant.namespace, label_selector=f"job-name={job}").items
    assert pods, f"no pod of Job {job}"
    logs = [core.read_namespaced_pod_log(p.metadata.name, ctx.tenant.namespace) for p in pods]
    assert any(text in log for log in logs), f"no pod of Job {job} logged {text!r}"
    return f"Job {job} logged {text!r}"
