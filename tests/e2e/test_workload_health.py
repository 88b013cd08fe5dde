"""workload-health against a live cluster: breaks a real control plane shows, planted between snapshots.

On the local provider kwok plays the kubelet: a scheduled pod turns Running and Ready, a Job's
pod Succeeded. What it can show is therefore what the control plane decides: a pod that cannot
be scheduled, a pod a controller cannot create, a bare pod that is gone. The plants are what an
upgrade does to such tenants: nodes come back without the label the tenant's pods select (the
global filesystem, which a DaemonSet's agent needs too), a ServiceAccount a StatefulSet runs as
is gone, nodes are drained (their pods deleted). Untouched tenant workloads, the complete Job,
the harness's own broken Deployment and a never-placed Job run from the harness's CronJob are
the controls: they must make no finding.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from harness.detectors import workload_health
from harness.detectors.base import HopContext, SnapshotContext
from harness.detectors.workload_state import Health
from harness.findings import Severity
from harness.kube.client import api_client
from harness.kube.labels import TENANT_LABEL
from harness.kube.secret_values import REDACTED
from harness.kube.waits import wait_until
from harness.matrix import ProbeBudget
from harness.plugin import ClusterFactory
from harness.versions import KubeVersion
from harness.workloads.manifest import WorkloadInput
from harness.workloads.read import read_workloads
from harness.workloads.replay import apply_manifests, ordered

pytestmark = pytest.mark.e2e
HOP = "planted"
NS = "tenant-alpha"
GLOBAL_FS = "platform.spin.example/global-fs"
SECRET = "s3cr3t-planted-pw"
SETTLE = 5.0

TENANT = f"""\
apiVersion: v1
kind: Namespace
metadata: {{name: {NS}, labels: {{{TENANT_LABEL}: alpha}}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: db-runner, namespace: {NS}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: db-credentials, namespace: {NS}}}
stringData: {{password: {SECRET}}}
---
# needs a node with the global filesystem mounted
apiVersion: apps/v1
kind: Deployment
metadata: {{name: solver, namespace: {NS}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: solver}}}}
  template:
    metadata: {{labels: {{app: solver}}}}
    spec:
      nodeSelector: {{{GLOBAL_FS}: "true"}}
      containers: [{{name: solver, image: registry.example/hpc/solver:1.0}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: {NS}}}
spec:
  serviceName: db
  replicas: 1
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      serviceAccountName: db-runner
      containers: [{{name: db, image: registry.example/hpc/db:1.0}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: fs-agent, namespace: {NS}}}
spec:
  selector: {{matchLabels: {{app: fs-agent}}}}
  template:
    metadata: {{labels: {{app: fs-agent}}}}
    spec:
      nodeSelector: {{{GLOBAL_FS}: "true"}}
      containers: [{{name: agent, image: registry.example/hpc/fs-agent:1.0}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: probe, namespace: {NS}}}
spec:
  containers: [{{name: probe, image: registry.example/hpc/probe:1.0}}]
---
apiVersion: batch/v1
kind: Job
metadata: {{name: migrate, namespace: {NS}}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: migrate, image: registry.example/hpc/migrate:1.0}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {NS}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: registry.example/hpc/web:1.0}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: node-agent, namespace: {NS}}}
spec:
  selector: {{matchLabels: {{app: node-agent}}}}
  template:
    metadata: {{labels: {{app: node-agent}}}}
    spec:
      containers: [{{name: agent, image: registry.example/hpc/agent:1.0}}]
"""

#: A Deployment of the harness's own (a scenario's field manager), as broken as the solver.
HARNESS_DEPLOYMENT: dict[str, Any] = {
    "metadata": {"name": "scenario-canary", "namespace": NS},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "scenario-canary"}},
        "template": {
            "metadata": {"labels": {"app": "scenario-canary"}},
            "spec": {
                "nodeSelector": {GLOBAL_FS: "true"},
                "containers": [{"name": "canary", "image": "registry.example/hpc/canary:1.0"}],
            },
        },
    },
}

#: A CronJob of the harness's own (as the workflows scenario's ``nightly``), suspended so it
#: never runs by itself, and a Job run from it (as the CronJob controller makes one) whose pod
#: is never placed: the Job and its pod are the harness's through ownership, not tenant workloads.
NIGHTLY_POD: dict[str, Any] = {
    "restartPolicy": "Never",
    "containers": [{"name": "nightly", "image": "registry.example/hpc/nightly:1.0"}],
}
HARNESS_CRONJOB: dict[str, Any] = {
    "metadata": {"name": "nightly", "namespace": NS},
    "spec": {
        "schedule": "0 3 * * *",
        "suspend": True,
        "jobTemplate": {"spec": {"template": {"spec": NIGHTLY_POD}}},
    },
}


def _run_harness_cronjob(api: client.ApiClient) -> None:
    batch = client.BatchV1Api(api)
    cron = batch.create_namespaced_cron_job(NS, HARNESS_CRONJOB, field_manager="spin-harness/workflows")
    owner = {"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly", "uid": cron.metadata.uid}
    job = {
        "metadata": {"name": "nightly-run", "namespace": NS, "ownerReferences": [owner | {"controller": True}]},
        "spec": {"template": {"spec": NIGHTLY_POD | {"nodeSelector": {"no-such-node": "true"}}}},
    }
    batch.create_namespaced_job(NS, job)


TENANT_KEYS = {
    f"{NS}/Deployment/solver",
    f"{NS}/StatefulSet/db",
    f"{NS}/Pod/probe",
    f"{NS}/Job/migrate",
    f"{NS}/Deployment/web",
    f"{NS}/DaemonSet/node-agent",
    f"{NS}/DaemonSet/fs-agent",
}


def _all_healthy(api: client.ApiClient, manifests: list[Any]) -> tuple[bool, str]:
    found = workload_health.snapshot(api, manifests)
    down = sorted(k for k, w in found.items() if not w.healthy)
    job = found.get(f"{NS}/Job/migrate")
    complete = job is not None and job.state.health is Health.COMPLETE
    return set(found) == TENANT_KEYS and not down and complete, f"read {sorted(found)}; not healthy: {down}"


def _plant(api: client.ApiClient, node: str) -> None:
    """What the upgrade does: the node comes back without the global-fs label, the db's
    ServiceAccount is gone, and the pods are evicted by the drain."""
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.patch_node(node, {"metadata": {"labels": {GLOBAL_FS: None}}})
    core.delete_namespaced_service_account("db-runner", NS)
    for selector in ("app=solver", "app=db", "app=scenario-canary"):
        core.delete_collection_namespaced_pod(NS, label_selector=selector, grace_period_seconds=0)
    core.delete_namespaced_pod("probe", NS, grace_period_seconds=0)
    solver = apps.read_namespaced_deployment("solver", NS)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    core.create_namespaced_event(
        NS,
        {
            "metadata": {"name": "solver.planted"},
            "involvedObject": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "solver", "namespace": NS}
            | {"uid": solver.metadata.uid},
            "type": "Warning",
            "reason": "FailedMount",
            "message": f'MountVolume.SetUp failed for volume "scratch": login with password {SECRET} refused',
            "source": {"component": "kubelet"},
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
        },
    )

    def planted() -> tuple[bool, str]:
        solver = apps.read_namespaced_deployment_status("solver", NS).status
        db = apps.read_namespaced_stateful_set_status("db", NS).status
        pending = [p.metadata.name for p in core.list_namespaced_pod(NS, label_selector="app=solver").items]
        probe = [p for p in core.list_namespaced_pod(NS).items if p.metadata.name == "probe"]
        agent = apps.read_namespaced_daemon_set_status("fs-agent", NS).status
        done = not solver.available_replicas and pending and not db.ready_replicas and not probe
        done = done and agent.desired_number_scheduled == 0
        return bool(done), (
            f"solver available {solver.available_replicas}, db ready {db.ready_replicas}, probe {probe}, "
            f"fs-agent on {agent.desired_number_scheduled} node(s)"
        )

    wait_until("the planted breaks to show", planted, timeout=60, interval=0.5, max_interval=2)


def test_workloads_that_stop_being_ready_are_breaking_with_their_evidence(
    cluster_factory: ClusterFactory, e2e_versions: tuple[KubeVersion, KubeVersion], tmp_path: Path
) -> None:
    (tmp_path / "alpha.yaml").write_text(TENANT)
    manifests = ordered(read_workloads([WorkloadInput(tmp_path)]).manifests)
    cluster = cluster_factory.create(e2e_versions[1])
    with contextlib.closing(api_client(cluster.kubeconfig)) as api:
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        [node] = [n.metadata.name for n in core.list_node().items]
        core.patch_node(node, {"metadata": {"labels": {GLOBAL_FS: "true"}}})
        assert all(result.ok for result in apply_manifests(cluster.kubeconfig, manifests))
        apps.create_namespaced_deployment(NS, HARNESS_DEPLOYMENT, field_manager="spin-harness/workflows")
        _run_harness_cronjob(api)
        wait_until("the tenant workloads to be ready", lambda: _all_healthy(api, manifests), timeout=120)

        def context(**after: Any) -> SnapshotContext:
            return SnapshotContext(
                cluster=cluster,
                api=api,
                version=str(e2e_versions[1]),
                target=e2e_versions[1],
                upgrade=True,
                provider=cluster_factory.provider,
                scratch_name="unused",
                platform_after={},
                workloads=lambda: manifests,
                timed=lambda _name, action: action(),
                settle_seconds=SETTLE,
                **after,
            )

        detector = workload_health.DETECTOR
        before = detector.snapshot(context())
        unchanged = detector.snapshot(context(after_hop=True, before=before))
        _plant(api, node)
        after = detector.snapshot(context(after_hop=True, before=before))

    assert workload_health.compare(before, unchanged, HOP, SETTLE) == [], "no break: no finding"
    assert set(before) == TENANT_KEYS, "the harness's own Deployment and CronJob's Job are no tenant workloads"
    job = f"{NS}/Job/migrate"
    assert (before[job].state.health, after[job].state.health) == (Health.COMPLETE, Health.COMPLETE)
    hop = HopContext(HOP, e2e_versions[1], ProbeBudget(workload_settle_seconds=SETTLE))
    findings = {f.subject: f for f in workload_health.DETECTOR.compare(before, after, hop)}
    assert sorted(findings) == [
        f"{NS}/DaemonSet/fs-agent",
        f"{NS}/Deployment/solver",
        f"{NS}/Pod/probe",
        f"{NS}/StatefulSet/db",
    ], "untouched workloads, the complete Job and the harness's own Deployment make no finding"
    assert {(f.kind, f.severity) for f in findings.values()} == {("workload-health", Severity.BREAKING)}
    assert SECRET not in json.dumps([f.to_json() for f in findings.values()])

    solver = findings[f"{NS}/Deployment/solver"].evidence
    assert (solver["object"], solver["kind"], solver["manifest"], solver["document"]) == (
        f"{NS}/Deployment/solver",
        "Deployment",
        str(tmp_path / "alpha.yaml"),
        4,
    )
    comment = TENANT.splitlines().index("# needs a node with the global filesystem mounted")
    assert solver["line"] == comment + 2, "1-based: the object starts on the line after the comment"
    assert (solver["before"]["state"], solver["after"]["state"]) == ("ready", "not-ready")
    assert solver["after"]["summary"].startswith("available 0/2")
    assert solver["pods"], "the pods the scheduler cannot place are the evidence"
    for pod in solver["pods"]:
        assert pod["phase"] == "Pending"
        assert {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}.items() <= next(
            c for c in pod["conditions"] if c["type"] == "PodScheduled"
        ).items()
    reasons = {(e["object"].split("/")[0], e["type"], e["reason"]) for e in solver["events"]}
    assert ("Pod", "Warning", "FailedScheduling") in reasons
    [planted] = [e for e in solver["events"] if e["reason"] == "FailedMount"]
    assert (
        planted["message"] == f'MountVolume.SetUp failed for volume "scratch": login with password {REDACTED} refused'
    )
    assert "Unschedulable" in findings[f"{NS}/Deployment/solver"].detail

    db = findings[f"{NS}/StatefulSet/db"]
    failed = [e for e in db.evidence["events"] if e["reason"] == "FailedCreate"]
    assert failed and all(e["object"] == "StatefulSet/db" for e in failed)
    assert 'serviceaccount "db-runner" not found' in failed[-1]["message"]
    assert db.evidence["after"]["summary"] == "ready 0/1"
    assert 'serviceaccount "db-runner" not found' in db.detail

    probe = findings[f"{NS}/Pod/probe"].evidence
    assert (probe["before"], probe["after"]) == ({"state": "ready", "summary": "running, ready"}, {"state": "gone"})
    assert probe["document"] == 7

    agent = findings[f"{NS}/DaemonSet/fs-agent"]
    assert (agent.evidence["before"]["summary"], agent.evidence["after"]["summary"]) == (
        "ready on 1/1 node(s)",
        "ready on 0/0 node(s)",
    )
    assert agent.detail.endswith("it ran on 1 node(s) and no node matches its selector and tolerations now")
