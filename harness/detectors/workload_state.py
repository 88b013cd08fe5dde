"""How healthy a tenant workload is, judged from its objects as the API returns them.

Pure functions over JSON: the state of a Deployment, StatefulSet, DaemonSet, Job or Pod (ready,
complete, not ready, failed, with a one-line summary), and the evidence a person reads when it
is not healthy (the pod's conditions and container states, events). ``workload_health`` reads
the objects from the cluster and compares these states across a hop; the rules live here so
unit tests feed them hand-written objects.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

#: The kinds judged, in the order findings list them.
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "Pod")


class Health(enum.StrEnum):
    READY = "ready"
    COMPLETE = "complete"
    NOT_READY = "not-ready"
    FAILED = "failed"

    @property
    def healthy(self) -> bool:
        """Ready, or done: what a workload that works looks like."""
        return self in (Health.READY, Health.COMPLETE)


@dataclass(frozen=True)
class State:
    health: Health
    #: What the counts or conditions say, e.g. ``available 1/2, updated 2/2``.
    summary: str
    #: How many pods (replicas, or nodes for a DaemonSet) it should run; None for Jobs and Pods.
    wanted: int | None = None
    #: How many pods it has now (created, ready or not; a Job's active pods); None for Pods.
    have: int | None = None
    #: Its own status says it will not get further by itself (rollout paused, deadline exceeded).
    stalled: bool = False
    #: It retries failed pods up to a limit its own status is judged by (a Job's backoffLimit): a
    #: failed pod of it is a retry under way, not a sign it is stuck.
    retries_failed_pods: bool = False

    @property
    def lacks_pods(self) -> bool:
        """Fewer pods than it wants (a Job: none active): a controller that cannot create pods shows here."""
        return self.have is not None and self.have < (self.wanted if self.wanted is not None else 1)


def _count(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _part(obj: dict[str, Any], name: str) -> dict[str, Any]:
    value = obj.get(name)
    return value if isinstance(value, dict) else {}


def conditions(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The object's status conditions, each reduced to type, status, reason and message."""
    found = _part(obj, "status").get("conditions")
    out = []
    for cond in found if isinstance(found, list) else []:
        if isinstance(cond, dict) and cond.get("type"):
            out.append({k: str(cond[k]) for k in ("type", "status", "reason", "message") if cond.get(k)})
    return out


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in conditions(obj) if c["type"] == kind), None)


def _is_true(obj: dict[str, Any], kind: str) -> bool:
    cond = _condition(obj, kind)
    return cond is not None and cond.get("status") == "True"


def _unobserved(obj: dict[str, Any]) -> str:
    """Why the status may be stale: the controller has not seen the latest spec yet."""
    generation = _count(_meta(obj).get("generation"))
    observed = _count(_part(obj, "status").get("observedGeneration"))
    if generation and observed < generation:
        return f"; its controller has not observed generation {generation} yet"
    return ""


def _deployment(obj: dict[str, Any]) -> State:
    want = _count(_part(obj, "spec").get("replicas"), 1)
    status = _part(obj, "status")
    available, updated = _count(status.get("availableReplicas")), _count(status.get("updatedReplicas"))
    have = _count(status.get("replicas"))
    summary = f"available {available}/{want}, updated {updated}/{want}"
    progressing = _condition(obj, "Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return State(Health.NOT_READY, f"{summary}; progress deadline exceeded", want, have, stalled=True)
    stale = _unobserved(obj)
    if stale or available < want or updated < want:
        if _part(obj, "spec").get("paused") is True:
            return State(Health.NOT_READY, f"{summary}; rollout paused", want, have, stalled=True)
        return State(Health.NOT_READY, summary + stale, want, have)
    return State(Health.READY, summary, want, have)


def _stateful_set(obj: dict[str, Any]) -> State:
    want = _count(_part(obj, "spec").get("replicas"), 1)
    ready, have = _count(_part(obj, "status").get("readyReplicas")), _count(_part(obj, "status").get("replicas"))
    summary = f"ready {ready}/{want}"
    stale = _unobserved(obj)
    if stale or ready < want:
        return State(Health.NOT_READY, summary + stale, want, have)
    return State(Health.READY, summary, want, have)


def _daemon_set(obj: dict[str, Any]) -> State:
    status = _part(obj, "status")
    want, ready = _count(status.get("desiredNumberScheduled")), _count(status.get("numberReady"))
    unavailable, have = _count(status.get("numberUnavailable")), _count(status.get("currentNumberScheduled"))
    summary = f"ready on {ready}/{want} node(s)"
    stale = _unobserved(obj)
    if stale or ready < want or unavailable:
        return State(Health.NOT_READY, summary + stale, want, have)
    return State(Health.READY, summary, want, have)


#: A Job's ``spec.backoffLimit`` when it does not set one (the API server's default).
JOB_BACKOFF_LIMIT = 6


def _job(obj: dict[str, Any]) -> State:
    return replace(_job_health(obj), retries_failed_pods=True)


def _job_health(obj: dict[str, Any]) -> State:
    status = _part(obj, "status")
    for kind in ("Failed", "FailureTarget"):
        if _is_true(obj, kind):
            cond = _condition(obj, kind) or {}
            why = ": ".join(cond[k] for k in ("reason", "message") if cond.get(k))
            return State(Health.FAILED, f"failed ({why})" if why else "failed")
    failed, limit = _count(status.get("failed")), _count(_part(obj, "spec").get("backoffLimit"), JOB_BACKOFF_LIMIT)
    if failed > limit:  # the controller has not written its Failed condition yet
        return State(Health.FAILED, f"failed ({failed} pod(s) failed, backoffLimit {limit})")
    if _is_true(obj, "Complete"):
        return State(Health.COMPLETE, f"complete, {_count(status.get('succeeded'))} pod(s) succeeded")
    if _is_true(obj, "Suspended"):
        return State(Health.READY, "suspended")
    active, ready = _count(status.get("active")), _count(status.get("ready"))
    if active and ready >= active:
        return State(Health.READY, f"running, ready {ready}/{active} pod(s)", have=active)
    if not active:
        return State(Health.NOT_READY, "not complete and no pod active", have=0)
    return State(Health.NOT_READY, f"running, ready {ready}/{active} pod(s)", have=active)


def _said(cond: dict[str, Any]) -> str:
    """``PodScheduled False (Unschedulable)``: a condition in a few words."""
    reason = f" ({cond['reason']})" if cond.get("reason") else ""
    return f"{cond['type']} {cond.get('status', '?')}{reason}"


def _pod(obj: dict[str, Any]) -> State:
    status = _part(obj, "status")
    phase = str(status.get("phase") or "Unknown")
    if phase == "Succeeded":
        return State(Health.COMPLETE, "succeeded")
    if phase == "Failed":
        why = ": ".join(str(status[k]) for k in ("reason", "message") if status.get(k))
        return State(Health.FAILED, f"failed ({why})" if why else "failed")
    if phase == "Running" and _is_true(obj, "Ready"):
        return State(Health.READY, "running, ready")
    blocked = [c for c in conditions(obj) if c.get("status") != "True"]
    why = ", ".join(_said(c) for c in blocked)
    return State(Health.NOT_READY, f"{phase}, {why}" if why else f"{phase}, not ready")


_STATE_OF = {
    "Deployment": _deployment,
    "StatefulSet": _stateful_set,
    "DaemonSet": _daemon_set,
    "Job": _job,
    "Pod": _pod,
}


def state_of(obj: dict[str, Any]) -> State:
    """The health of a workload object (one of ``WORKLOAD_KINDS``) from its status."""
    kind = str(obj.get("kind", ""))
    if kind not in _STATE_OF:
        raise ValueError(f"not a workload kind: {kind!r} (one of {', '.join(WORKLOAD_KINDS)})")
    return _STATE_OF[kind](obj)


def controller_uid(obj: dict[str, Any]) -> str:
    """The UID of the object's controlling owner (a Pod's ReplicaSet or Job), or ``""``."""
    for ref in _meta(obj).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return str(ref.get("uid", ""))
    return ""


def _container_state(state: Any) -> dict[str, Any]:
    """``{"waiting": {"reason": ..., "message": ...}}``: the state's name and what it says (no timestamps)."""
    if not isinstance(state, dict):
        return {}
    for name in ("waiting", "running", "terminated"):
        if isinstance(state.get(name), dict):
            keep = ("reason", "message", "exitCode", "signal")
            return {name: {k: state[name][k] for k in keep if state[name].get(k) not in (None, "")}}
    return {}


def container_states(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """Every init and app container's readiness, restarts, state and last state."""
    status = _part(pod, "status")
    out = []
    for field, init in (("initContainerStatuses", True), ("containerStatuses", False)):
        for item in status.get(field) or []:
            if not isinstance(item, dict):
                continue
            entry: dict[str, Any] = {"name": str(item.get("name", "")), "ready": bool(item.get("ready"))}
            if init:
                entry["init"] = True
            entry["restarts"] = _count(item.get("restartCount"))
            entry["state"] = _container_state(item.get("state"))
            last = _container_state(item.get("lastState"))
            if last:
                entry["last_state"] = last
            out.append(entry)
    return out


def pod_evidence(pod: dict[str, Any]) -> dict[str, Any]:
    """What a person reads about a pod that is not ready: phase, node, conditions, containers."""
    status = _part(pod, "status")
    out: dict[str, Any] = {"pod": str(_meta(pod).get("name", "")), "phase": str(status.get("phase") or "Unknown")}
    node = _part(pod, "spec").get("nodeName")
    if node:
        out["node"] = str(node)
    for key in ("reason", "message"):
        if status.get(key):
            out[key] = str(status[key])
    out["conditions"] = conditions(pod)
    out["containers"] = container_states(pod)
    return out


def event_evidence(event: dict[str, Any]) -> dict[str, Any]:
    """One core/v1 Event as evidence: on what, its type, reason, message, how often and when last."""
    involved = _part(event, "involvedObject")
    series = _part(event, "series")
    count = _count(event.get("count")) or _count(series.get("count")) or 1
    last = event.get("lastTimestamp") or series.get("lastObservedTime") or event.get("eventTime") or ""
    return {
        "object": f"{involved.get('kind', '')}/{involved.get('name', '')}",
        "type": str(event.get("type") or ""),
        "reason": str(event.get("reason") or ""),
        "message": str(event.get("message") or "").strip(),
        "count": count,
        "last_seen": str(last),
    }


_NEVER = datetime.min.replace(tzinfo=UTC)


def _moment(stamp: Any) -> datetime:
    """An event's time as a datetime, so ``…05Z`` sorts before ``…05.123Z`` (as strings it sorts
    after); a time that does not parse counts as the earliest."""
    try:
        moment = datetime.fromisoformat(str(stamp))
    except ValueError:
        return _NEVER
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def newest_events(events: Iterable[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most recent events (as ``event_evidence``), oldest first, warnings kept before normals."""
    ordered = sorted(events, key=lambda e: (e["type"] == "Warning", _moment(e.get("last_seen"))))
    return ordered[-limit:] if limit else []


#: Container waiting reasons that do not pass by themselves: the kubelet backs off and retries.
STUCK_WAITING = frozenset(
    {
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "ErrImageNeverPull",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "RunContainerError",
    }
)
#: Warning events that say a controller or the kubelet tried and failed, when they are the newest
#: event about their object. A pod the scheduler cannot place shows as ``PodScheduled False``.
STUCK_EVENTS = frozenset({"BackOff", "FailedAttachVolume", "FailedMount"})
#: A readiness probe that failed this many times in a row has failed for good, not just started slowly.
REPEATED_UNHEALTHY = 3


def _latest_per_object(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest event (as ``event_evidence``) about each object; on a tie a Normal wins, as a
    controller's success in the same second follows its failure (retry), not the other way."""
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        key = (_moment(event.get("last_seen")), event.get("type") != "Warning")
        held = latest.get(event.get("object", ""))
        if held is None or key >= (_moment(held.get("last_seen")), held.get("type") != "Warning"):
            latest[event.get("object", "")] = event
    return list(latest.values())


def _failing(event: dict[str, Any], state: State) -> bool:
    """Whether this newest Warning about an object says its workload will not get ready by itself."""
    if event.get("type") != "Warning":
        return False
    reason = event.get("reason")
    if reason == "FailedCreate":  # e.g. "serviceaccount default not found" just after replay, then created
        return state.lacks_pods
    if reason == "Unhealthy":
        return _count(event.get("count"), 1) >= REPEATED_UNHEALTHY
    return reason in STUCK_EVENTS


def _crashed(container: dict[str, Any]) -> bool:
    """Terminated with an error now, or crashed more than once already (a crash loop between restarts)."""
    for said, restarts_needed in ((container.get("state", {}), 0), (container.get("last_state", {}), 2)):
        ended = said.get("terminated")
        if ended is None or container.get("restarts", 0) < restarts_needed:
            continue
        if ended.get("exitCode", 0) != 0 or ended.get("reason") not in (None, "Completed"):
            return True
    return False


def _leftover(pod: dict[str, Any], state: State, pods: list[dict[str, Any]]) -> bool:
    """Whether a failed pod is left behind rather than a failure of its workload: evicted (the
    controller made another), retried by a Job within its backoffLimit (the Job's own state says
    when it has failed), or replaced by a live pod (its controller has the pods it wants, or
    another of its pods is on its way)."""
    if pod.get("reason") == "Evicted" or state.retries_failed_pods:
        return True
    if state.wanted is not None and state.have is not None and not state.lacks_pods:
        return True
    return any(other.get("phase") not in ("Failed", "Succeeded") for other in pods if other is not pod)


def stuck(state: State, pods: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]]) -> bool:
    """Whether a workload that is not healthy is not worth waiting for: it has failed in a way that
    does not pass by itself (a failed Job or Pod, a failed pod with no live replacement, a container
    crashing or backing off, a pod the scheduler cannot place, a readiness probe failing over and over, a
    controller that cannot create the pods it wants, a paused rollout), rather than still starting up.

    Only the newest event about each object counts: a ReplicaSet's ``FailedCreate`` followed by
    its ``SuccessfulCreate`` is a pod on its way, not a stuck workload."""
    if state.health is Health.FAILED or state.stalled:
        return True
    listed = list(pods)
    for pod in listed:
        if pod.get("phase") == "Failed":
            if _leftover(pod, state, listed):
                continue  # its containers ended with it: they say nothing about the workload now
            return True
        for container in pod.get("containers", []):
            if container.get("state", {}).get("waiting", {}).get("reason") in STUCK_WAITING or _crashed(container):
                return True
        if any(c.get("type") == "PodScheduled" and c.get("status") == "False" for c in pod.get("conditions", [])):
            return True
    return any(_failing(e, state) for e in _latest_per_object(events))


def cause(state: State, pods: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]]) -> str:
    """The most telling reason a workload is not healthy, in a few words, from its evidence."""
    for pod in pods:
        for container in pod.get("containers", []):
            for state_name, said in container.get("state", {}).items():
                if state_name != "running" and said.get("reason") not in (None, "Completed"):
                    message = f": {said['message']}" if said.get("message") else ""
                    return f"container {container['name']} {state_name} ({said['reason']}{message})"
        for cond in pod.get("conditions", []):
            if cond.get("status") != "True" and cond.get("reason") and cond.get("message"):
                return f"pod {pod['pod']} {cond['type']} {cond['status']} ({cond['reason']}: {cond['message']})"
    warnings = [e for e in events if e.get("type") == "Warning"]
    if warnings:
        last = warnings[-1]
        return f"{last['object']} {last['reason']}: {last['message']}"
    return state.summary
