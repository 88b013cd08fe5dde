"""workload-health: what ready means per kind, and which changes across a hop are findings.

The state rules and ``compare`` are pure: the objects here are shaped as the API returns them
(``status`` as controllers and the kubelet write it); ``tests/e2e/test_workload_health.py``
reads the same shapes from a live cluster.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import tenancy
from harness.detectors import workload_health
from harness.detectors.base import HopContext
from harness.detectors.workload_health import Workload, compare, manifest_places, settled, starting, still_down
from harness.detectors.workload_state import Health, State, cause, container_states, newest_events, state_of, stuck
from harness.errors import HarnessError
from harness.findings import Severity
from harness.kube.secret_values import REDACTED, Scrubber
from harness.matrix import ProbeBudget
from harness.report.actions import ACTIONS, fix, manifests, tenant_objects
from harness.versions import KubeVersion
from harness.workloads.manifest import Manifest

HOP = "v1.36.3>v1.37.2"


def deployment(want: int = 2, available: int = 2, updated: int = 2, **status: Any) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": 3},
        "spec": {"replicas": want},
        "status": {
            "observedGeneration": 3,
            "replicas": want,
            "availableReplicas": available,
            "updatedReplicas": updated,
            **status,
        },
    }


def pod(phase: str = "Running", ready: str = "True", **status: Any) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": "solo"},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready}], **status},
    }


def test_deployment_is_ready_when_every_replica_is_available_and_updated() -> None:
    assert state_of(deployment()) == State(Health.READY, "available 2/2, updated 2/2", 2, 2)
    assert state_of(deployment(available=1)).health is Health.NOT_READY
    assert state_of(deployment(updated=1)).health is Health.NOT_READY
    zero = deployment(want=0, available=0, updated=0)
    assert state_of(zero).health is Health.READY, "scaled to zero is what was asked for"


def test_deployment_status_the_controller_has_not_caught_up_with_is_not_ready() -> None:
    stale = deployment()
    stale["status"]["observedGeneration"] = 2
    assert state_of(stale) == State(
        Health.NOT_READY, "available 2/2, updated 2/2; its controller has not observed generation 3 yet", 2, 2
    )
    stalled = deployment(conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}])
    assert state_of(stalled).summary.endswith("progress deadline exceeded")


COUNTS = st.integers(min_value=0, max_value=5)


@given(want=COUNTS, available=COUNTS, updated=COUNTS, generation=st.integers(1, 4), observed=st.integers(0, 4))
def test_a_deployment_is_ready_exactly_when_observed_available_and_updated(
    want: int, available: int, updated: int, generation: int, observed: int
) -> None:
    obj = deployment(want, available, updated)
    obj["metadata"]["generation"], obj["status"]["observedGeneration"] = generation, observed
    state = state_of(obj)
    assert state.health.healthy is (observed >= generation and available >= want and updated >= want)
    assert state.summary.startswith(f"available {available}/{want}, updated {updated}/{want}")
    assert state.wanted == want


@given(desired=COUNTS, ready=COUNTS, unavailable=COUNTS)
def test_a_daemon_set_is_ready_exactly_when_every_node_runs_it(desired: int, ready: int, unavailable: int) -> None:
    status = {"desiredNumberScheduled": desired, "numberReady": ready, "numberUnavailable": unavailable}
    state = state_of({"kind": "DaemonSet", "status": status})
    assert state.health.healthy is (ready >= desired and unavailable == 0)


def test_replicas_default_to_one() -> None:
    obj = {"kind": "StatefulSet", "metadata": {}, "spec": {}, "status": {"readyReplicas": 1, "replicas": 1}}
    assert state_of(obj) == State(Health.READY, "ready 1/1", 1, 1)
    obj["status"] = {}
    assert state_of(obj) == State(Health.NOT_READY, "ready 0/1", 1, 0)


def test_daemon_set_counts_the_nodes_it_should_run_on() -> None:
    status = {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 2}
    assert state_of({"kind": "DaemonSet", "status": status}) == State(Health.READY, "ready on 2/2 node(s)", 2, 2)
    status = {"desiredNumberScheduled": 2, "numberReady": 2, "numberUnavailable": 1}
    assert state_of({"kind": "DaemonSet", "status": status}).health is Health.NOT_READY


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}, Health.COMPLETE),
        (
            {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]},
            Health.FAILED,
        ),
        ({"conditions": [{"type": "Suspended", "status": "True"}]}, Health.READY),
        ({"active": 2, "ready": 2}, Health.READY),
        ({"active": 2, "ready": 1}, Health.NOT_READY),
        ({}, Health.NOT_READY),
    ],
)
def test_job_states(status: dict[str, Any], expected: Health) -> None:
    assert state_of({"kind": "Job", "status": status}).health is expected


def test_job_failure_names_its_reason() -> None:
    cond = {
        "type": "Failed",
        "status": "True",
        "reason": "BackoffLimitExceeded",
        "message": "Job has reached the limit",
    }
    assert state_of({"kind": "Job", "status": {"conditions": [cond]}}).summary == (
        "failed (BackoffLimitExceeded: Job has reached the limit)"
    )


def test_pod_states() -> None:
    assert state_of(pod()) == State(Health.READY, "running, ready")
    assert state_of(pod("Succeeded", "False")).health is Health.COMPLETE
    assert state_of(pod("Failed", "False", reason="Evicted")) == State(Health.FAILED, "failed (Evicted)")
    pending = pod("Pending", "False")
    pending["status"]["conditions"].append({"type": "PodScheduled", "status": "False", "reason": "Unschedulable"})
    assert state_of(pending) == State(Health.NOT_READY, "Pending, Ready False, PodScheduled False (Unschedulable)")


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="not a workload kind: 'ReplicaSet'"):
        state_of({"kind": "ReplicaSet"})


def test_container_states_keep_reasons_and_drop_timestamps() -> None:
    obj = pod(
        "Pending",
        "False",
        initContainerStatuses=[{"name": "init", "ready": False, "state": {"running": {"startedAt": "t"}}}],
        containerStatuses=[
            {
                "name": "app",
                "ready": False,
                "restartCount": 4,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "t"}},
            }
        ],
    )
    assert container_states(obj) == [
        {"name": "init", "ready": False, "init": True, "restarts": 0, "state": {"running": {}}},
        {
            "name": "app",
            "ready": False,
            "restarts": 4,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
            "last_state": {"terminated": {"reason": "Error", "exitCode": 1}},
        },
    ]


def test_the_cause_prefers_a_container_then_a_pod_condition_then_a_warning_event() -> None:
    state = State(Health.NOT_READY, "available 0/1, updated 1/1")
    waiting = {"name": "app", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}}
    unscheduled = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/2 nodes"}
    event = {"object": "ReplicaSet/web-1", "type": "Warning", "reason": "FailedCreate", "message": "forbidden"}
    assert cause(state, [{"pod": "p", "containers": [waiting]}], [event]) == (
        "container app waiting (ImagePullBackOff: no such image)"
    )
    assert cause(state, [{"pod": "p", "containers": [], "conditions": [unscheduled]}], [event]) == (
        "pod p PodScheduled False (Unschedulable: 0/2 nodes)"
    )
    assert cause(state, [], [event]) == "ReplicaSet/web-1 FailedCreate: forbidden"
    assert cause(state, [], []) == state.summary


def test_newest_events_keep_warnings_over_normals() -> None:
    events = [
        {"type": "Normal", "last_seen": "2026-01-01T00:00:03Z", "reason": "Scheduled"},
        {"type": "Warning", "last_seen": "2026-01-01T00:00:01Z", "reason": "FailedMount"},
        {"type": "Warning", "last_seen": "2026-01-01T00:00:02Z", "reason": "BackOff"},
    ]
    assert [e["reason"] for e in newest_events(events, 2)] == ["FailedMount", "BackOff"]
    assert newest_events(events, 0) == []


# -- compare -----------------------------------------------------------------------------------

READY = State(Health.READY, "available 2/2, updated 2/2")
DOWN = State(Health.NOT_READY, "available 0/2, updated 2/2")
KEY = "tenant-alpha/Deployment/web"
PLACE = {"manifest": "tenants/alpha/web.yaml", "document": 2, "line": 14}
POD = {
    "pod": "web-5d4-x",
    "phase": "Pending",
    "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/2 nodes are available"}
    ],
    "containers": [],
}
EVENT = {
    "object": "Pod/web-5d4-x",
    "type": "Warning",
    "reason": "FailedScheduling",
    "message": "0/2 nodes are available",
    "count": 3,
    "last_seen": "2026-12-04T21:00:00Z",
}


def web(state: State, uid: str = "u1", kind: str = "Deployment", key: str = KEY) -> Workload:
    broken = not state.health.healthy
    return Workload(
        key,
        kind,
        uid,
        state,
        PLACE,
        conditions=({"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},)
        if broken
        else (),
        pods=(POD,) if broken else (),
        events=(EVENT,) if broken else (),
    )


def test_ready_before_and_not_after_is_breaking_with_the_evidence() -> None:
    [finding] = compare({KEY: web(READY)}, {KEY: web(DOWN)}, HOP, 120)
    assert (finding.kind, finding.severity, finding.subject) == ("workload-health", Severity.BREAKING, KEY)
    assert finding.detail == (
        f"{KEY} was ready before the hop and is not ready after it (waited 120s; available 0/2, updated 2/2): "
        "pod web-5d4-x PodScheduled False (Unschedulable: 0/2 nodes are available)"
    )
    assert finding.evidence == {
        "object": KEY,
        "kind": "Deployment",
        **PLACE,
        "before": {"state": "ready", "summary": READY.summary},
        "after": {"state": "not-ready", "summary": DOWN.summary},
        "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}],
        "pods": [POD],
        "events": [EVENT],
        "settle_seconds": 120,
    }


def test_the_report_names_the_object_its_manifest_and_a_fix() -> None:
    [finding] = compare({KEY: web(READY)}, {KEY: web(DOWN)}, HOP, 120)
    data = finding.to_json()
    assert "workload-health" in ACTIONS
    assert tenant_objects(data) == [KEY]
    assert manifests(data) == ["tenants/alpha/web.yaml"]
    assert "container states" in fix(data)


def test_a_recreated_workload_that_is_down_says_so() -> None:
    [finding] = compare({KEY: web(READY)}, {KEY: web(DOWN, uid="u2")}, HOP)
    assert finding.evidence["recreated"] is True


def test_complete_stays_complete_and_recovery_is_no_finding() -> None:
    done = State(Health.COMPLETE, "complete, 1 pod(s) succeeded")
    job = "tenant-alpha/Job/migrate"
    assert compare({job: web(done, kind="Job", key=job)}, {job: web(done, kind="Job", key=job)}, HOP) == []
    assert compare({KEY: web(DOWN)}, {KEY: web(READY)}, HOP) == []
    failed = State(Health.FAILED, "failed (BackoffLimitExceeded)")
    [finding] = compare({job: web(done, kind="Job", key=job)}, {job: web(failed, kind="Job", key=job)}, HOP)
    assert finding.severity is Severity.BREAKING


def test_not_ready_on_both_sides_is_information_only() -> None:
    [finding] = compare({KEY: web(DOWN)}, {KEY: web(DOWN)}, HOP)
    assert finding.severity is Severity.INFO
    assert "was not ready before the hop either" in finding.detail


def test_a_bare_pod_lost_in_the_hop_is_breaking_a_vanished_controller_is_left_to_object_drift() -> None:
    solo = "tenant-alpha/Pod/solo"
    before = {solo: web(State(Health.READY, "running, ready"), kind="Pod", key=solo), KEY: web(READY)}
    [finding] = compare(before, {}, HOP)
    assert (finding.severity, finding.subject) == (Severity.BREAKING, solo)
    assert finding.evidence["after"] == {"state": "gone"}
    assert "under a controller" in fix(finding.to_json())
    done = {solo: web(State(Health.COMPLETE, "succeeded"), kind="Pod", key=solo)}
    assert [f.severity for f in compare(done, {}, HOP)] == [Severity.INFO]


def test_a_daemon_set_left_with_no_node_is_breaking() -> None:
    agent = "tenant-alpha/DaemonSet/fs-agent"
    ran = web(State(Health.READY, "ready on 2/2 node(s)", 2), kind="DaemonSet", key=agent)
    nowhere = web(State(Health.READY, "ready on 0/0 node(s)", 0), kind="DaemonSet", key=agent)
    [finding] = compare({agent: ran}, {agent: nowhere}, HOP, 120)
    assert finding.severity is Severity.BREAKING
    assert finding.detail == (
        f"{agent} was ready before the hop and is on no node after it (waited 120s; ready on 0/0 node(s)): "
        "it ran on 2 node(s) and no node matches its selector and tolerations now"
    )
    assert still_down({agent: ran}, {agent: nowhere}) == [agent]
    assert compare({agent: nowhere}, {agent: nowhere}, HOP) == [], "never ran anywhere: nothing lost"


def test_new_workloads_are_not_judged() -> None:
    assert compare({}, {KEY: web(DOWN)}, HOP) == []


def test_the_detector_takes_the_settle_time_from_the_budget() -> None:
    hop = HopContext(HOP, KubeVersion.parse("v1.37.2"), ProbeBudget(workload_settle_seconds=45))
    [finding] = workload_health.DETECTOR.compare({KEY: web(READY)}, {KEY: web(DOWN)}, hop)
    assert finding.evidence["settle_seconds"] == 45
    with pytest.raises(HarnessError, match="no snapshot was taken after the hop"):
        workload_health.DETECTOR.compare({}, None, hop)


HEALTHS = st.sampled_from(list(Health))


@given(
    st.dictionaries(
        st.sampled_from([f"tenant-{t}/{k}/w" for t in "ab" for k in ("Deployment", "Job", "Pod")]), HEALTHS
    ),
    st.dictionaries(
        st.sampled_from([f"tenant-{t}/{k}/w" for t in "ab" for k in ("Deployment", "Job", "Pod")]), HEALTHS
    ),
)
def test_breaking_exactly_when_something_healthy_before_is_not_after(
    before_health: dict[str, Health], after_health: dict[str, Health]
) -> None:
    def snap(healths: dict[str, Health]) -> dict[str, Workload]:
        return {k: web(State(h, h.value), kind=k.split("/")[1], key=k) for k, h in healths.items()}

    found = compare(snap(before_health), snap(after_health), HOP)
    breaking = {f.subject for f in found if f.severity is Severity.BREAKING}
    expected = {
        key
        for key, old in before_health.items()
        if old.healthy
        and (
            (key in after_health and not after_health[key].healthy)
            or (key not in after_health and key.split("/")[1] == "Pod" and old is Health.READY)
        )
    }
    assert breaking == expected
    assert {f.subject for f in found} <= set(before_health), "only what existed before the hop is judged"
    assert all(f.kind == "workload-health" and f.hop == HOP for f in found)


# -- settling, manifests, Secret values -------------------------------------------------------


def test_settled_reads_until_what_was_ready_is_ready_again() -> None:
    readings = iter([{KEY: web(DOWN)}, {KEY: web(DOWN)}, {KEY: web(READY)}])
    before = {KEY: web(READY)}
    assert settled(lambda: next(readings), lambda now: still_down(before, now), timeout=60) == before


def test_settled_answers_with_the_last_reading_when_time_is_up() -> None:
    count = itertools.count()

    def read() -> dict[str, Workload]:
        next(count)
        return {KEY: web(DOWN)}

    before = {KEY: web(READY)}
    assert settled(read, lambda now: still_down(before, now), timeout=0) == {KEY: web(DOWN)}
    assert next(count) >= 1
    assert still_down({KEY: web(DOWN)}, {KEY: web(DOWN)}) == [], "down before: nothing to wait for"


def test_before_the_hop_only_workloads_still_starting_are_waited_for() -> None:
    pulling = {"pod": "p", "containers": [{"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}]}
    backing_off = {"pod": "p", "containers": [{"name": "app", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}
    starting_up = Workload(KEY, "Deployment", "u1", DOWN, pods=(pulling,))
    broken = Workload("tenant-alpha/Deployment/db", "Deployment", "u2", DOWN, pods=(backing_off,))
    assert starting({KEY: starting_up, broken.object: broken, "tenant-alpha/Job/j": web(READY)}) == [KEY]
    readings = iter([{KEY: starting_up, broken.object: broken}, {KEY: web(READY), broken.object: broken}])
    assert settled(lambda: next(readings), starting, timeout=60) == {KEY: web(READY), broken.object: broken}


#: A Deployment that wants 2 pods and has none (its ReplicaSet cannot create them), and one that has both.
SHORT = State(Health.NOT_READY, "available 0/2, updated 0/2", 2, 0)
FULL = State(Health.NOT_READY, "available 0/2, updated 2/2", 2, 2)
CREATING = {"pod": "p", "containers": [{"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}]}


def event(reason: str, last_seen: str, kind: str = "Warning", obj: str = "ReplicaSet/web-1", count: int = 1) -> Any:
    return {"object": obj, "type": kind, "reason": reason, "message": "", "count": count, "last_seen": last_seen}


def running(**container: Any) -> dict[str, Any]:
    return {"pod": "p", "phase": "Running", "containers": [{"name": "app", "restarts": 0, **container}]}


@pytest.mark.parametrize(
    ("state", "pods", "events", "expected"),
    [
        (DOWN, (), (), False),
        (DOWN, (running(state={"waiting": {"reason": "CrashLoopBackOff"}}),), (), True),
        (DOWN, ({"conditions": [{"type": "PodScheduled", "status": "False"}]},), (), True),
        (SHORT, (), (event("FailedCreate", "t1"),), True),
        (FULL, (), (event("FailedCreate", "t1"),), False),
        (DOWN, (), (event("SuccessfulCreate", "t1", "Normal"),), False),
        (DOWN, (), (event("FailedScheduling", "t1", obj="Pod/p"),), False),
        (DOWN, (), (event("FailedMount", "t1", obj="Pod/p"),), True),
        (DOWN, (), (event("FailedMount", "t1", obj="Pod/p"), event("Started", "t2", "Normal", "Pod/p")), False),
        (DOWN, (running(state={"running": {}}),), (event("Unhealthy", "t1", obj="Pod/p", count=2),), False),
        (DOWN, (running(state={"running": {}}),), (event("Unhealthy", "t1", obj="Pod/p", count=3),), True),
        (DOWN, ({"pod": "p", "phase": "Failed"},), (), True),
        (DOWN, (running(state={"terminated": {"reason": "Error", "exitCode": 1}}),), (), True),
        (DOWN, (running(state={"terminated": {"reason": "Completed", "exitCode": 0}}),), (), False),
        (DOWN, (running(state={"running": {}}, restarts=1, last_state={"terminated": {"exitCode": 2}}),), (), False),
        (DOWN, (running(state={"running": {}}, restarts=2, last_state={"terminated": {"exitCode": 2}}),), (), True),
        (State(Health.NOT_READY, "paused", 2, 2, stalled=True), (), (), True),
        (State(Health.FAILED, "failed"), (), (), True),
    ],
)
def test_stuck_is_a_failure_that_does_not_pass_by_itself(
    state: State, pods: tuple[dict[str, Any], ...], events: tuple[dict[str, Any], ...], expected: bool
) -> None:
    assert stuck(state, pods, events) is expected


def test_a_replica_set_that_failed_to_create_then_created_is_still_starting() -> None:
    """Replay makes a Namespace and a Deployment together: the ReplicaSet's first try fails
    (the namespace's default ServiceAccount is not there yet), its retry succeeds, and the pod
    is being created. That is a workload starting up, waited for before the hop."""
    failed = event("FailedCreate", "2026-12-04T22:00:01Z") | {"message": 'serviceaccount "default" not found'}
    created = event("SuccessfulCreate", "2026-12-04T22:00:02Z", "Normal")
    same_second = event("SuccessfulCreate", "2026-12-04T22:00:01Z", "Normal")
    for events in ((failed, created), (created, failed), (failed, same_second)):
        assert not stuck(FULL, (CREATING,), events), events
        workload = Workload(KEY, "Deployment", "u1", FULL, pods=(CREATING,), events=tuple(newest_events(events, 10)))
        assert starting({KEY: workload}) == [KEY]
    assert stuck(SHORT, (), (failed,)), "a controller still short of pods and failing to create them is stuck"


def test_paused_and_deadline_exceeded_rollouts_are_stalled() -> None:
    paused = deployment(available=1) | {"spec": {"replicas": 2, "paused": True}}
    assert state_of(paused).stalled and state_of(paused).summary.endswith("rollout paused")
    assert not state_of(deployment(available=1)).stalled
    assert not state_of(deployment() | {"spec": {"replicas": 2, "paused": True}}).stalled, "ready is ready"


def test_a_job_with_no_pod_active_lacks_pods() -> None:
    assert state_of({"kind": "Job", "status": {}}).lacks_pods
    assert not state_of({"kind": "Job", "status": {"active": 1}}).lacks_pods


def test_the_wait_before_the_hop_has_its_own_smaller_bound() -> None:
    assert workload_health.before_hop_timeout(120) == workload_health.BEFORE_HOP_SETTLE_SECONDS == 30
    assert workload_health.before_hop_timeout(5) == 5


def test_jobs_and_pods_run_from_a_harness_cron_job_are_the_harness_own() -> None:
    """The workflows scenario's ``nightly`` CronJob (field manager ``spin-harness/workflows``)
    runs Jobs whose pods a drain evicts: ownership leads from them to the CronJob only when
    CronJobs are read too."""
    assert ("/apis/batch/v1/namespaces/{ns}/cronjobs", "CronJob") in workload_health._LISTS

    def made(kind: str, uid: str, owner: str = "", manager: str = "kube-controller-manager") -> dict[str, Any]:
        refs = [{"uid": owner, "controller": True}] if owner else []
        meta = {"name": uid, "uid": uid, "ownerReferences": refs, "managedFields": [{"manager": manager}]}
        return {"kind": kind, "metadata": meta}

    cron = made("CronJob", "c1", manager="spin-harness/workflows")
    run, run_pod = made("Job", "j1", "c1"), made("Pod", "p1", "j1")
    tenant_job, tenant_pod = made("Job", "j2", manager="spin-harness"), made("Pod", "p2", "j2")
    listed = [cron, run, run_pod, tenant_job, tenant_pod]
    assert [o["metadata"]["uid"] for o in tenancy.tenant_objects(listed)] == ["j2", "p2"]
    without_cron_jobs = [o for o in listed if o["kind"] != "CronJob"]
    assert len(tenancy.tenant_objects(without_cron_jobs)) == 4, "why CronJobs are listed"
    assert "CronJob" not in workload_health.WORKLOAD_KINDS, "read for ownership, not judged"


def test_manifest_places_name_file_document_and_line() -> None:
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "tenant-alpha"}}
    bare = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "solo"}}
    places = manifest_places([Manifest(Path("w/web.yaml"), body, 2, 14), Manifest(Path("w/solo.yaml"), bare)])
    assert places == {
        KEY: {"manifest": "w/web.yaml", "document": 2, "line": 14},
        "default/Pod/solo": {"manifest": "w/solo.yaml", "document": 1, "line": 0},
    }


def test_evidence_texts_are_scrubbed_of_secret_values() -> None:
    scrubber = Scrubber()
    scrubber.learn({"kind": "Secret", "metadata": {"name": "db"}, "stringData": {"pw": "hunter2-planted"}})
    evidence = ({"message": "login failed for password hunter2-planted", "count": 2},)
    assert workload_health._scrubbed(evidence, scrubber) == (
        {"message": f"login failed for password {REDACTED}", "count": 2},
    )
