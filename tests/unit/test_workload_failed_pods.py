"""Failed pods and event times in the workload-health rules: a failed pod left behind by a
workload that has moved on (evicted, replaced, retried by a Job within its backoffLimit) is not
a stuck workload, and event times compare as times, not strings."""

from __future__ import annotations

from typing import Any

import pytest

from harness.detectors.workload_state import Health, State, newest_events, state_of, stuck

#: A Deployment that wants 2 pods: one rolling pod short, and still short with no pod at all.
ONE_SHORT = State(Health.NOT_READY, "available 1/2, updated 2/2", 2, 2)
NO_POD = State(Health.NOT_READY, "available 0/2, updated 0/2", 2, 0)


def failed_pod(reason: str = "", exit_code: int = 137) -> dict[str, Any]:
    terminated = {"terminated": {"reason": "Error", "exitCode": exit_code}}
    pod = {"pod": "web-old", "phase": "Failed", "containers": [{"name": "app", "restarts": 0, "state": terminated}]}
    return pod | ({"reason": reason} if reason else {})


CREATING = {"pod": "web-new", "phase": "Pending", "containers": [{"name": "app", "state": {"waiting": {}}}]}


@pytest.mark.parametrize(
    ("state", "pods", "expected"),
    [
        (ONE_SHORT, (failed_pod(),), False),  # the controller has its pods: the failed one is left over
        (NO_POD, (failed_pod(), CREATING), False),  # its replacement is on its way
        (NO_POD, (failed_pod("Evicted"),), False),  # evicted: the controller makes another
        (NO_POD, (failed_pod(),), True),  # failed, and nothing replaces it
        (NO_POD, (failed_pod(), failed_pod()), True),
        (State(Health.NOT_READY, "Pending"), (failed_pod(),), True),  # no counts to show a replacement
    ],
)
def test_a_failed_pod_with_a_live_replacement_is_left_over(
    state: State, pods: tuple[dict[str, Any], ...], expected: bool
) -> None:
    assert stuck(state, pods, ()) is expected


def job(**status: Any) -> dict[str, Any]:
    return {"kind": "Job", "spec": {"backoffLimit": 2}, "status": status}


def test_a_job_retrying_within_its_backoff_limit_is_not_stuck() -> None:
    retrying = state_of(job(failed=2))
    assert retrying.health is Health.NOT_READY
    assert not stuck(retrying, (failed_pod(exit_code=1), failed_pod(exit_code=1)), ())
    assert not stuck(state_of(job(failed=1, active=1)), (failed_pod(exit_code=1), CREATING), ())


def test_a_job_past_its_backoff_limit_or_marked_failed_is_stuck() -> None:
    over = state_of(job(failed=3))
    assert over == State(Health.FAILED, "failed (3 pod(s) failed, backoffLimit 2)", retries_failed_pods=True)
    assert stuck(over, (failed_pod(exit_code=1),), ())
    marked = state_of(job(failed=1, conditions=[{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]))
    assert marked.health is Health.FAILED and stuck(marked, (), ())
    default_limit = {"kind": "Job", "status": {"failed": 6}}
    assert state_of(default_limit).health is Health.NOT_READY, "the default backoffLimit is 6"
    assert state_of(default_limit | {"status": {"failed": 7}}).health is Health.FAILED


def event(kind: str, reason: str, last_seen: str) -> dict[str, Any]:
    return {"object": "Pod/p", "type": kind, "reason": reason, "message": "", "count": 1, "last_seen": last_seen}


def test_event_times_compare_as_times_not_strings() -> None:
    """``…05Z`` sorts after ``…05.123Z`` as a string, yet is earlier: a mount that failed at 05.123
    after a Started at 05 is the newest word about the pod."""
    started = event("Normal", "Started", "2026-12-04T22:00:05Z")
    failed = event("Warning", "FailedMount", "2026-12-04T22:00:05.123456Z")
    for events in ((started, failed), (failed, started)):
        assert stuck(ONE_SHORT, (), events), events
    later = event("Normal", "Started", "2026-12-04T22:00:06Z")
    assert not stuck(ONE_SHORT, (), (failed, later))
    assert not stuck(ONE_SHORT, (), (failed, event("Normal", "Started", "2026-12-04T22:00:05.123456Z"))), "tie: Normal"
    ordered = newest_events([failed, event("Warning", "BackOff", "2026-12-04T22:00:05Z")], 2)
    assert [e["reason"] for e in ordered] == ["BackOff", "FailedMount"]
