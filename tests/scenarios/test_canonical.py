"""Each canonical scenario is green on a real local cluster: setup, verify (twice, as after a
hop, the second time from a runner given only the kubeconfig), its probes once, teardown."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from kubernetes import client

from harness.kube.client import api_client
from harness.providers.base import Cluster
from harness.providers.local import LocalProvider
from harness.scenarios import PhaseResult, ScenarioRunner, Status, load_scenario
from harness.scenarios.services import ServiceSet
from tests.scenarios.conftest import CANONICAL, SHIPPED, runner

pytestmark = pytest.mark.e2e

#: Steps a local cluster cannot run, by scenario: (step path, what they need).
#: Steps the local provider skips for lacking a capability, per run (each verify runs twice).
EXPECTED_SKIPS = {
    "workflows": [("verify[6]", "needs real-containers")] * 2,
    "ingress": [("verify[11]", "needs ingress-data-path")] * 2 + [("during[0]", "needs ingress-data-path")],
    "global-fs-mounts": [("setup[3]", "needs real-containers")]
    + [("verify[14]", "needs real-containers"), ("verify[15]", "needs real-containers")] * 2,
    # The in-cluster webhook's pods: deploy, its tenant namespace, six verify steps, removal
    # (the webhook, its namespace deleted, and gone).
    "admission-webhooks": [(f"setup[{i}]", "needs real-containers") for i in (4, 5)]
    + [(f"verify[{i}]", "needs real-containers") for i in range(12, 18)] * 2
    + [("during[1]", "needs real-containers")]
    + [(f"teardown[{i}]", "needs real-containers") for i in (1, 2, 3)],
}


def tenant_namespaces(cluster: Cluster) -> list[str]:
    with contextlib.closing(api_client(cluster.kubeconfig)) as api:
        return sorted(
            ns.metadata.name
            for ns in client.CoreV1Api(api).list_namespace().items
            if ns.metadata.name.startswith("tenant-")
        )


def capability_skips(results: list[PhaseResult]) -> list[tuple[str, str]]:
    """(path, "needs <capability>") of skipped steps, leaving out ``when`` conditions (per-tenant
    choices, not gaps)."""
    return [
        (step.path, step.message.split(",")[0])
        for result in results
        for step in result.skipped_steps
        if not step.message.startswith("when:")
    ]


#: Setup writes the CronJob's status within this long of making the CronJob.
STATUS_WRITTEN_WITHIN = dt.timedelta(seconds=5)


def cron_not_caught_up(cluster: Cluster) -> str | None:
    """Why the CronJob's first run was not the one setup made due, or None if it was.

    Setup writes the CronJob's status (``cron-due.yaml.j2``) and the controller starts the
    latest scheduled time before that write: one from before the CronJob existed. Without the
    write (or with the server ignoring it) the first run waits for the next full minute after
    the CronJob was made. Only when that minute came between the CronJob and its status write
    can the two not be told apart; that is let pass.
    """
    with contextlib.closing(api_client(cluster.kubeconfig)) as api:
        batch = client.BatchV1Api(api)
        cron_jobs = batch.list_cron_job_for_all_namespaces(field_selector="metadata.name=nightly").items
        if len(cron_jobs) != 2:
            return f"expected a CronJob nightly per tenant, found {len(cron_jobs)}"
        for cron_job in cron_jobs:
            namespace, created = cron_job.metadata.namespace, cron_job.metadata.creation_timestamp
            jobs = batch.list_namespaced_job(namespace, label_selector="app.kubernetes.io/name=nightly").items
            scheduled = sorted(j.metadata.annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] for j in jobs)
            if not scheduled:
                return f"{namespace}: no run of CronJob nightly"
            first = dt.datetime.fromisoformat(scheduled[0].replace("Z", "+00:00"))
            next_minute = created.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
            if first < created or (first == next_minute and next_minute - created <= STATUS_WRITTEN_WITHIN):
                continue
            return f"{namespace}: first run scheduled {scheduled[0]}, CronJob made {created}: not the missed run"
    return None


@pytest.mark.parametrize("name", CANONICAL)
def test_canonical_scenario_is_green(local_cluster: Cluster, name: str) -> None:
    scenario = load_scenario(SHIPPED / name)
    results: list[PhaseResult] = []
    # The harness's own servers (the admission webhook) live for the whole scenario, as in a cell.
    services = ServiceSet()
    try:
        with runner(scenario, local_cluster, services=services) as harness_runner:
            results.append(harness_runner.run_phase("setup"))
            results.append(harness_runner.run_phase("verify"))
        not_caught_up = cron_not_caught_up(local_cluster) if name == "workflows" else None
        # As after an upgrade done by other means: nothing but the kubeconfig, what the provider
        # can do and the harness's services is known; the version is read from the server.
        with ScenarioRunner(
            scenario, local_cluster.kubeconfig, capabilities=LocalProvider.capabilities, services=services
        ) as fresh:
            results.append(fresh.run_phase("verify"))
            assert fresh.version == local_cluster.version
        with runner(scenario, local_cluster, services=services) as harness_runner:
            results.append(harness_runner.run_phase("during"))
            results.append(harness_runner.run_phase("teardown"))
    finally:
        services.stop()

    assert [r.status for r in results] == [Status.PASSED] * 5, "\n".join(r.summary() for r in results)
    assert not_caught_up is None, not_caught_up
    assert all(step.status is not Status.FAILED for r in results for step in r.steps)
    assert sorted(capability_skips(results)) == sorted(EXPECTED_SKIPS.get(name, []))
    tenants_seen = {step.tenant for r in results for step in r.steps if step.tenant}
    assert tenants_seen == {"alpha", "beta"}
    assert tenant_namespaces(local_cluster) == [], "teardown leaves no tenant namespace behind"
