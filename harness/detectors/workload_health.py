"""workload-health: tenant workloads that worked before the hop and do not after it.

Breakage only the node sees (a volume type the kubelet no longer mounts, a runtime that starts
containers differently, a node label the scheduler matched on) reaches no API detector: the
objects are accepted and unchanged, their pods just stop being ready. This detector reads the
state of every tenant Deployment, StatefulSet, DaemonSet, Job and bare Pod before the hop and
again after it (``harness.detectors.workload_state`` says what ready means for each kind),
waiting a bounded time (the matrix's ``probes.budget.workload_settle_seconds``) for those that
were ready to become ready again: drained nodes reschedule pods, controllers restart. Before the
hop it waits at most ``BEFORE_HOP_SETTLE_SECONDS`` (or the budget, if smaller) for workloads
still starting up, and not at all for those already stuck (``workload_state.stuck``).

- ready or complete before, not after the settle time: ``breaking``, with the workload's
  conditions, its not-ready pods' conditions and container states, and the events about them;
- a bare Pod ready before and gone after: ``breaking`` (nothing recreates a Pod without a
  controller when its node is drained); other workloads that vanish are ``object-drift``'s;
- not ready before and still not after: ``info``, the hop cannot be judged on it.

The harness's own scenario objects and what they own are left out
(``harness.tenancy.tenant_objects``), and every text is scrubbed of the values of the Secrets
in the tenant namespaces before it is kept, so evidence never carries a Secret value.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from kubernetes import client

from harness.detectors.base import HopContext, SnapshotContext
from harness.detectors.workload_state import (
    WORKLOAD_KINDS,
    Health,
    State,
    cause,
    conditions,
    controller_uid,
    event_evidence,
    newest_events,
    pod_evidence,
    state_of,
    stuck,
)
from harness.errors import HarnessError, WaitTimeout
from harness.findings import Finding, Severity
from harness.kube.client import get_json
from harness.kube.secret_values import Scrubber
from harness.kube.waits import wait_until
from harness.tenancy import tenant_namespaces, tenant_objects

if TYPE_CHECKING:
    from harness.workloads.manifest import Manifest

NAME = "workload-health"
#: At most this many not-ready pods, and events, in one finding's evidence.
MAX_PODS = 5
MAX_EVENTS = 10

#: At most this long (or the budget, if smaller) the snapshot before the hop waits for workloads
#: still starting up (just replayed, images pulling). Shorter than the budget after the hop: a
#: workload not ready by then is judged "not ready before" (``info``), and the wait is paid on
#: every hop.
BEFORE_HOP_SETTLE_SECONDS = 30.0

#: (list path under the namespace, kind) of what is read in each tenant namespace. CronJobs are
#: read only to follow ownership (a scenario's CronJob -> its Jobs -> their Pods are the
#: harness's); they are not judged.
_LISTS = (
    ("/apis/batch/v1/namespaces/{ns}/cronjobs", "CronJob"),
    ("/apis/apps/v1/namespaces/{ns}/deployments", "Deployment"),
    ("/apis/apps/v1/namespaces/{ns}/replicasets", "ReplicaSet"),
    ("/apis/apps/v1/namespaces/{ns}/statefulsets", "StatefulSet"),
    ("/apis/apps/v1/namespaces/{ns}/daemonsets", "DaemonSet"),
    ("/apis/batch/v1/namespaces/{ns}/jobs", "Job"),
    ("/api/v1/namespaces/{ns}/pods", "Pod"),
)


@dataclass(frozen=True)
class Workload:
    """One tenant workload's state at one moment, with the evidence kept when it is not healthy."""

    #: ``tenant-alpha/Deployment/web``: how findings and the report name the object.
    object: str
    kind: str
    uid: str
    state: State
    #: ``manifest``, ``document``, ``line`` of the tenant manifest that makes it, when one does.
    manifest: dict[str, Any] = field(default_factory=dict)
    conditions: tuple[dict[str, Any], ...] = ()
    pods: tuple[dict[str, Any], ...] = ()
    events: tuple[dict[str, Any], ...] = ()

    @property
    def healthy(self) -> bool:
        return self.state.health.healthy


#: Object (``namespace/Kind/name``) -> its workload.
Snapshot = dict[str, Workload]


def manifest_places(manifests: Iterable[Manifest]) -> dict[str, dict[str, Any]]:
    """``namespace/Kind/name`` -> where the tenant manifest that makes it is (file, document, line)."""
    out: dict[str, dict[str, Any]] = {}
    for manifest in manifests:
        meta = manifest.body.get("metadata") or {}
        key = f"{meta.get('namespace') or 'default'}/{manifest.body.get('kind')}/{meta.get('name')}"
        out.setdefault(key, {"manifest": str(manifest.source), "document": manifest.document, "line": manifest.line})
    return out


def _scrubbed(value: Any, scrubber: Scrubber) -> Any:
    if isinstance(value, str):
        return scrubber.scrub(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v, scrubber) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrubbed(v, scrubber) for v in value)
    return value


def _listed(api: client.ApiClient, path: str, kind: str) -> list[dict[str, Any]]:
    items = get_json(api, path).get("items", [])
    for item in items:
        item["kind"] = kind
    return list(items)


def read_namespace(
    api: client.ApiClient, namespace: str, places: dict[str, dict[str, Any]], scrubber: Scrubber
) -> list[Workload]:
    """Every tenant workload in ``namespace`` with its state (and evidence when it is not healthy)."""
    scrubber.learn(_listed(api, f"/api/v1/namespaces/{namespace}/secrets", "Secret"))
    objects = tenant_objects(item for path, kind in _LISTS for item in _listed(api, path.format(ns=namespace), kind))
    pods_of: dict[str, list[dict[str, Any]]] = {}
    sets_of: dict[str, list[str]] = {}
    for obj in objects:
        if obj["kind"] == "Pod":
            pods_of.setdefault(controller_uid(obj), []).append(obj)
        elif obj["kind"] == "ReplicaSet":
            sets_of.setdefault(controller_uid(obj), []).append(obj["metadata"]["uid"])
    events_of: dict[str, list[dict[str, Any]]] = {}
    for event in get_json(api, f"/api/v1/namespaces/{namespace}/events").get("items", []):
        events_of.setdefault(str((event.get("involvedObject") or {}).get("uid", "")), []).append(event)
    found = []
    for obj in objects:
        kind, meta = obj["kind"], obj["metadata"]
        if kind not in WORKLOAD_KINDS or (kind == "Pod" and controller_uid(obj)):
            continue  # a controller's pods are evidence for the controller
        key = f"{namespace}/{kind}/{meta['name']}"
        state = state_of(obj)
        workload = Workload(key, kind, str(meta.get("uid", "")), state, places.get(key, {}))
        if not state.health.healthy:
            owners = [] if kind == "Pod" else [meta["uid"], *sets_of.get(meta["uid"], [])]
            pods = [obj] if kind == "Pod" else [p for uid in owners for p in pods_of.get(uid, [])]
            unready = [p for p in pods if not state_of(p).health.healthy][:MAX_PODS]
            involved = owners + [p["metadata"]["uid"] for p in unready]
            events = [event_evidence(e) for uid in involved for e in events_of.get(uid, [])]
            workload = Workload(
                key,
                kind,
                workload.uid,
                replace(state, summary=scrubber.scrub(state.summary)),
                workload.manifest,
                _scrubbed(tuple(conditions(obj)) if kind != "Pod" else (), scrubber),
                _scrubbed(tuple(pod_evidence(p) for p in unready), scrubber),
                _scrubbed(tuple(newest_events(events, MAX_EVENTS)), scrubber),
            )
        found.append(workload)
    return found


def snapshot(
    api: client.ApiClient, manifests: Sequence[Manifest] = (), namespaces: list[str] | None = None
) -> Snapshot:
    """The state of every tenant workload in the tenant namespaces."""
    places = manifest_places(manifests)
    scrubber = Scrubber()
    out: Snapshot = {}
    for namespace in namespaces if namespaces is not None else tenant_namespaces(api):
        for workload in read_namespace(api, namespace, places, scrubber):
            out[workload.object] = workload
    return out


def _lost_its_nodes(old: Workload, new: Workload) -> bool:
    """A DaemonSet that ran somewhere and now runs nowhere: "ready" by its counts (0 of 0), yet gone."""
    return old.kind == "DaemonSet" and bool(old.state.wanted) and new.state.wanted == 0


def broken(old: Workload, new: Workload) -> bool:
    """Whether ``new`` no longer works as ``old`` did: not healthy, or a DaemonSet left with no node."""
    return not new.healthy or _lost_its_nodes(old, new)


def _after(new: Workload) -> str:
    return "on no node" if new.healthy else new.state.health.value.replace("-", " ")


def still_down(before: Snapshot, now: Snapshot) -> list[str]:
    """The workloads healthy before that are present and not healthy now: what a settle waits for."""
    return sorted(key for key, old in before.items() if old.healthy and key in now and broken(old, now[key]))


def starting(now: Snapshot) -> list[str]:
    """The workloads not healthy yet that have not failed either: still starting up."""
    return sorted(key for key, w in now.items() if not w.healthy and not stuck(w.state, w.pods, w.events))


def settled(read: Callable[[], Snapshot], waiting_for: Callable[[Snapshot], list[str]], timeout: float) -> Snapshot:
    """Read until ``waiting_for`` the reading names nothing, at most ``timeout`` seconds.

    After the hop it waits for what was healthy before (``still_down``); before the hop, for
    workloads still starting up (``starting``: just replayed, images pulling), so a workload
    on its way to ready is judged as ready. A workload still waited for when the time is up is
    what ``compare`` judges, so the timeout is an answer here, not an error.
    """
    last: list[Snapshot] = []

    def done() -> tuple[bool, str]:
        last[:] = [read()]
        waiting = waiting_for(last[0])
        return not waiting, f"not ready yet: {', '.join(waiting[:5])}"

    with contextlib.suppress(WaitTimeout):
        wait_until("tenant workloads to be ready", done, timeout=timeout, interval=1, max_interval=5)
    return last[0] if last else read()


def before_hop_timeout(settle_seconds: float) -> float:
    """How long the snapshot before the hop waits for workloads still starting up."""
    return min(settle_seconds, BEFORE_HOP_SETTLE_SECONDS)


def _evidence(old: Workload, new: Workload | None, settle_seconds: float) -> dict[str, Any]:
    shown = new if new is not None and not new.healthy else old
    out: dict[str, Any] = {"object": old.object, "kind": old.kind, **old.manifest}
    out["before"] = {"state": old.state.health.value, "summary": old.state.summary}
    out["after"] = (
        {"state": new.state.health.value, "summary": new.state.summary} if new is not None else {"state": "gone"}
    )
    if new is not None and new.uid != old.uid:
        out["recreated"] = True
    out["conditions"] = list(shown.conditions)
    out["pods"] = list(shown.pods)
    out["events"] = list(shown.events)
    out["settle_seconds"] = settle_seconds
    return out


def compare(before: Snapshot, after: Snapshot, hop: str, settle_seconds: float = 0.0) -> list[Finding]:
    """Breaking: healthy before, not healthy after (or a bare Pod gone); info: not healthy on both sides."""
    findings = []
    for key, old in sorted(before.items()):
        new = after.get(key)
        if not old.healthy:
            if new is not None and not new.healthy:
                findings.append(
                    Finding(
                        NAME,
                        Severity.INFO,
                        hop,
                        key,
                        f"{key} was not ready before the hop either ({old.state.summary}; after: "
                        f"{new.state.summary}): the hop cannot be judged on it",
                        _evidence(old, new, settle_seconds),
                    )
                )
            continue
        if new is None:
            if old.kind == "Pod":
                severity = Severity.BREAKING if old.state.health is Health.READY else Severity.INFO
                findings.append(
                    Finding(
                        NAME,
                        severity,
                        hop,
                        key,
                        f"bare Pod {key} was {old.state.health.value} before the hop and is gone after it: "
                        "nothing recreates a Pod without a controller when its node is drained or replaced",
                        _evidence(old, None, settle_seconds),
                    )
                )
            continue  # a controller that vanished is object-drift's finding
        if not broken(old, new):
            continue
        why = cause(new.state, new.pods, new.events)
        if new.healthy:  # a DaemonSet that lost every node
            why = f"it ran on {old.state.wanted} node(s) and no node matches its selector and tolerations now"
        findings.append(
            Finding(
                NAME,
                Severity.BREAKING,
                hop,
                key,
                f"{key} was {old.state.health.value} before the hop and is {_after(new)} after it "
                f"(waited {settle_seconds:.0f}s; {new.state.summary}): {why}",
                _evidence(old, new, settle_seconds),
            )
        )
    return findings


class WorkloadHealth:
    """Reads the tenant workloads before the hop and, after it, until they settle; compares the two."""

    name = NAME
    reads_after = True

    def snapshot(self, ctx: SnapshotContext) -> Snapshot:
        manifests = ctx.workloads()

        def read() -> Snapshot:
            return snapshot(ctx.api, manifests)

        before: Snapshot | None = ctx.before if ctx.after_hop and isinstance(ctx.before, dict) else None

        def waiting_for(now: Snapshot) -> list[str]:
            return still_down(before, now) if before is not None else starting(now)

        timeout = ctx.settle_seconds if before is not None else before_hop_timeout(ctx.settle_seconds)
        result: Snapshot = ctx.timed(f"settle@{ctx.version}", lambda: settled(read, waiting_for, timeout))
        return result

    def compare(self, before: Snapshot, after: Snapshot | None, hop: HopContext) -> list[Finding]:
        if after is None:
            raise HarnessError(f"{NAME}: no snapshot was taken after the hop")
        return compare(before, after, hop.label, hop.budget.workload_settle_seconds)


DETECTOR = WorkloadHealth()
