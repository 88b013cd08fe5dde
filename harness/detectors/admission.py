"""admission-change: the same probe pods get a different admission answer across a hop.

Admission is where a platform's policy lives (Pod Security levels, LimitRanger, the platform's
webhooks and ValidatingAdmissionPolicies), and where an upgrade changes behaviour without any
object changing: a new PodSecurity check, a webhook that answers differently at the new
version, a defaulting plugin that now mutates. So before and after each hop the detector
submits one fixed set of probe pods to every tenant namespace with server-side dry-run (nothing
is created) and keeps, per probe, whether it was admitted, why not, and what admission set on
the fields the platform's policy owns. A flipped decision or a different mutation of those
fields is breaking; a denial whose message changed is information for the person reading.

A webhook the apiserver cannot call is not a decision (``harness.detectors.webhook_silence``):
a probe refused that way is asked again, for up to ``SILENCE_PATIENCE`` seconds per snapshot
counted from the first such refusal. One still refused then is compared as a silence, not as a
denial, and answers that came only after waiting are a warning of their own, so a webhook that
stays silent for a while after a hop is seen even when it recovers.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import urllib3
from deepdiff import DeepDiff
from kubernetes import client

from harness.detectors.base import ApiDetector
from harness.detectors.webhook_silence import Patience, Silence, silence
from harness.findings import Finding, Severity
from harness.tenancy import tenant_namespaces
from harness.webhooks.policy import GID_ANNOTATION, GLOBAL_FS_ANNOTATION, UID_ANNOTATION

NAME = "admission-change"
DEFAULT_ID = 1000
PROBE_PREFIX = "spin-admission-probe-"
#: Answers the apiserver gives while it is still settling after a restart: asked again, at most
#: ``ATTEMPTS`` times. A webhook's silence (500 "failed calling webhook" with no answer from it)
#: is asked again while the snapshot's patience lasts; any other refusal is an answer, kept.
TRANSIENT_STATUS = frozenset({0, 429, 503})
ATTEMPTS = 5
#: How a probe the apiserver never answered is recorded.
GAVE_UP = "no answer after"
#: Seconds one snapshot keeps asking again while webhooks are silent, from the first silence.
SILENCE_PATIENCE = 90.0


@dataclass(frozen=True)
class TenantIds:
    """What a probe pod needs to know of its namespace to be (or not be) compliant."""

    uid: int
    gid: int
    global_fs: str | None


@dataclass(frozen=True)
class Answer:
    """Admission's answer to one probe: admitted with these policy fields, or denied with this message."""

    allowed: bool
    denial: str = ""
    mutation: dict[str, Any] = field(default_factory=dict)
    #: Seconds from this probe's first silent webhook to the answer kept (0: answered at once, or
    #: silent when the snapshot's patience was already spent).
    waited: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


#: "namespace/probe" -> Answer
Table = dict[str, Answer]


def _container(ids: TenantIds, **security: Any) -> dict[str, Any]:
    context = {
        "runAsUser": ids.uid,
        "runAsGroup": ids.gid,
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    context.update(security)
    return {"name": "app", "image": "registry.invalid/probe:1", "securityContext": context}


def _pod(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"app": "admission-probe"}}, "spec": spec}


def _restricted(ids: TenantIds) -> dict[str, Any]:
    return _pod({"containers": [_container(ids)]})


def _baseline(ids: TenantIds) -> dict[str, Any]:
    return _pod({"containers": [{"name": "app", "image": "registry.invalid/probe:1"}]})


def _privileged(ids: TenantIds) -> dict[str, Any]:
    return _pod({"containers": [_container(ids, privileged=True, allowPrivilegeEscalation=True)]})


def _host_network(ids: TenantIds) -> dict[str, Any]:
    return _pod({"hostNetwork": True, "containers": [_container(ids)]})


def _host_pid(ids: TenantIds) -> dict[str, Any]:
    return _pod({"hostPID": True, "containers": [_container(ids)]})


def _root_user(ids: TenantIds) -> dict[str, Any]:
    return _pod({"containers": [_container(ids, runAsUser=0, runAsNonRoot=False)]})


def _host_path(path: str, ids: TenantIds) -> dict[str, Any]:
    container = _container(ids)
    container["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    return _pod({"containers": [container], "volumes": [{"name": "data", "hostPath": {"path": path}}]})


def _global_fs(ids: TenantIds) -> dict[str, Any]:
    return _host_path(f"{ids.global_fs or '/global/unknown'}/work", ids)


def _global_fs_wrong_uid(ids: TenantIds) -> dict[str, Any]:
    return _global_fs(TenantIds(ids.uid + 1, ids.gid, ids.global_fs))


def _host_etc(ids: TenantIds) -> dict[str, Any]:
    return _host_path("/etc", ids)


#: The probes: each a pod shape the platform's policy has an opinion about.
PROBES: dict[str, Callable[[TenantIds], dict[str, Any]]] = {
    "restricted": _restricted,
    "baseline": _baseline,
    "privileged": _privileged,
    "host-network": _host_network,
    "host-pid": _host_pid,
    "root-user": _root_user,
    "global-fs": _global_fs,
    "global-fs-wrong-uid": _global_fs_wrong_uid,
    "host-etc": _host_etc,
}


def _int(raw: object) -> int:
    try:
        return int(str(raw))
    except ValueError:
        return DEFAULT_ID


def tenant_ids(namespace: client.V1Namespace) -> TenantIds:
    annotations = namespace.metadata.annotations or {}
    return TenantIds(
        _int(annotations.get(UID_ANNOTATION, DEFAULT_ID)),
        _int(annotations.get(GID_ANNOTATION, DEFAULT_ID)),
        annotations.get(GLOBAL_FS_ANNOTATION),
    )


def policy_fields(pod: dict[str, Any]) -> dict[str, Any]:
    """The parts of an admitted pod that admission policy decides, in a stable shape.

    Volumes, the service-account token mount and server defaults are left out: they carry
    generated names or change with every release, and object-drift and schema-change cover them.
    """
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    return {
        "labels": dict(meta.get("labels") or {}),
        "annotations": dict(meta.get("annotations") or {}),
        "securityContext": spec.get("securityContext") or {},
        "containers": {c.get("name", ""): c.get("securityContext") or {} for c in spec.get("containers") or []},
        "affinity": spec.get("affinity") or {},
        "nodeSelector": spec.get("nodeSelector") or {},
        "tolerations": spec.get("tolerations") or [],
    }


def _denial(exc: client.ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        body = {}
    message = str(body.get("message") or exc.reason or "")
    return f"{exc.status} {body.get('reason') or exc.reason}: {message}"


@dataclass(frozen=True)
class Transient:
    """A reply that is no answer yet: the apiserver settling, or the connection to it failing."""

    message: str


Reply = Answer | Transient


def settled_answer(
    send: Callable[[], Reply], patience: Patience, *, sleep: Callable[[float], None] = time.sleep
) -> Answer:
    """``send`` until it gives an answer to keep: a transient reply is asked again up to
    ``ATTEMPTS`` times, a silent webhook while ``patience`` lasts (time is ``patience``'s clock).

    A server that never settles is recorded as a denial saying so: the finding then carries the
    evidence, where an exception would only fail the detector.
    """
    clock = patience.clock
    attempt = 0
    silent_since: float | None = None
    while True:
        reply = send()
        waited = max(0.1, round(clock() - silent_since, 1)) if silent_since is not None else 0.0
        if isinstance(reply, Transient):
            attempt += 1
            if attempt == ATTEMPTS:
                return Answer(False, f"{GAVE_UP} {ATTEMPTS} attempts: {reply.message}", waited=waited)
            sleep(0.5 * attempt)
            continue
        if not reply.allowed and silence(reply.denial) is not None and (left := patience.left()) > 0:
            silent_since = clock() if silent_since is None else silent_since
            sleep(min(1.0, left))
            continue
        return dataclasses.replace(reply, waited=waited)


def ask(api: client.ApiClient, namespace: str, name: str, body: dict[str, Any], patience: Patience) -> Answer:
    """Submit one probe with server-side dry-run, as often as ``settled_answer`` decides."""
    core = client.CoreV1Api(api)
    body = json.loads(json.dumps(body))
    body["metadata"]["name"] = name

    def send() -> Reply:
        try:
            admitted = core.create_namespaced_pod(namespace, body, dry_run="All", _preload_content=False)
        except client.ApiException as exc:
            denial = _denial(exc)
            return Transient(denial) if exc.status in TRANSIENT_STATUS else Answer(False, denial)
        except (OSError, urllib3.exceptions.HTTPError) as exc:  # connection refused or reset
            return Transient(str(exc))
        return Answer(True, mutation=policy_fields(json.loads(admitted.data)))

    return settled_answer(send, patience)


def snapshot(
    api: client.ApiClient, namespaces: list[str] | None = None, *, patience: float = SILENCE_PATIENCE
) -> Table:
    """Every probe in every tenant namespace (or in ``namespaces``), under fixed pod names; silent
    webhooks are waited for up to ``patience`` seconds in all."""
    core = client.CoreV1Api(api)
    shared = Patience(patience)
    table: Table = {}
    for namespace in namespaces if namespaces is not None else tenant_namespaces(api):
        ids = tenant_ids(core.read_namespace(namespace))
        for probe, build in PROBES.items():
            table[f"{namespace}/{probe}"] = ask(api, namespace, PROBE_PREFIX + probe, build(ids), shared)
    return table


def _silent(answer: Answer) -> Silence | None:
    return None if answer.allowed else silence(answer.denial)


def _silence_text(kind: Silence, answer: Answer) -> str:
    waited = (
        f"asked again for {answer.waited:g}s" if answer.waited else "not asked again: the snapshot's patience was spent"
    )
    return f"{kind.value}; {waited} ({answer.denial})"


def _finding(severity: Severity, hop: str, key: str, text: str, evidence: dict[str, Any]) -> Finding:
    return Finding(NAME, severity, hop, key, f"probe pod {key}: {text}", evidence)


def _judge(old: Answer, new: Answer, hop: str, key: str) -> Finding | None:
    """One probe's answers before and after the hop, as at most one finding."""
    evidence: dict[str, Any] = {"before": old.to_json(), "after": new.to_json()}
    was_silent, is_silent = _silent(old), _silent(new)
    if was_silent is not None or is_silent is not None:
        evidence["silence"] = {"before": was_silent and was_silent.name, "after": is_silent and is_silent.name}
    if was_silent is not None:
        if is_silent is not None:
            return _finding(Severity.INFO, hop, key, f"no decision on either side: {is_silent.value}", evidence)
        after = "admitted" if new.allowed else f"denied ({new.denial})"
        text = f"not compared: before the hop {_silence_text(was_silent, old)}; after it, {after}"
        return _finding(Severity.WARNING, hop, key, text, evidence)
    if is_silent is not None:
        if old.allowed:
            return _finding(Severity.BREAKING, hop, key, f"now denied: {_silence_text(is_silent, new)}", evidence)
        return _finding(Severity.INFO, hop, key, f"still denied, now because {_silence_text(is_silent, new)}", evidence)
    if old.allowed != new.allowed:
        change = f"now denied ({new.denial})" if not new.allowed else f"now admitted (was denied: {old.denial})"
        return _finding(Severity.BREAKING, hop, key, change, evidence)
    if old.allowed and old.mutation != new.mutation:
        diff = DeepDiff(old.mutation, new.mutation, verbose_level=2).to_dict()
        evidence["diff"] = json.loads(json.dumps(diff, default=str))
        keys = sorted(old.mutation.keys() | new.mutation.keys())
        changed = ", ".join(k for k in keys if old.mutation.get(k) != new.mutation.get(k))
        return _finding(Severity.BREAKING, hop, key, f"admission now sets {changed} differently", evidence)
    if not old.allowed and old.denial != new.denial:
        return _finding(Severity.INFO, hop, key, f"still denied, with another message: {new.denial}", evidence)
    return None


def _waits(table: Table, side: str, hop: str) -> list[Finding]:
    """One warning per side for the answers that came only after a webhook was silent."""
    waited = {
        key: a.waited
        for key, a in sorted(table.items())
        if a.waited and _silent(a) is None and not a.denial.startswith(GAVE_UP)
    }
    if not waited:
        return []
    longest = max(waited.values())
    detail = (
        f"{len(waited)} probe pod(s) got their answer {side} the hop only after a webhook was silent for up to "
        f"{longest:g}s: {', '.join(list(waited)[:5])}{' ...' if len(waited) > 5 else ''}"
    )
    return [Finding(NAME, Severity.WARNING, hop, f"webhooks {side} the hop", detail, {"waited_seconds": waited})]


def compare(before: Table, after: Table, hop: str) -> list[Finding]:
    findings = [f for key in sorted(set(before) & set(after)) if (f := _judge(before[key], after[key], hop, key))]
    return findings + _waits(before, "before", hop) + _waits(after, "after", hop)


DETECTOR = ApiDetector[Table](NAME, snapshot, lambda before, after, hop: compare(before, after, hop.label))
