"""admission-change: the same probe pods get a different admission answer across a hop.

Admission is where a platform's policy lives (Pod Security levels, LimitRanger, the platform's
webhooks and ValidatingAdmissionPolicies), and where an upgrade changes behaviour without any
object changing: a new PodSecurity check, a webhook that answers differently at the new
version, a defaulting plugin that now mutates. So before and after each hop the detector
submits one fixed set of probe pods to every tenant namespace with server-side dry-run (nothing
is created) and keeps, per probe, whether it was admitted, why not, and what admission set on
the fields the platform's policy owns. A flipped decision or a different mutation of those
fields is breaking; a denial whose message changed is information for the person reading.

A webhook the apiserver cannot reach is not a decision: right after a hop its pods may be
moving and a node's proxy rules catching up with its Service, and a harness step that scaled it
may have just brought it back. Such an answer is asked again until the snapshot has waited
``UNREACHABLE_PATIENCE`` seconds in all; a webhook still unreachable then is what the probe
records, and a finding says so. A webhook that answers with a TLS error or a refusal is an
answer at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import urllib3
from deepdiff import DeepDiff
from kubernetes import client

from harness.detectors.base import ApiDetector
from harness.findings import Finding, Severity
from harness.tenancy import tenant_namespaces
from harness.webhooks.policy import GID_ANNOTATION, GLOBAL_FS_ANNOTATION, UID_ANNOTATION

DEFAULT_ID = 1000
PROBE_PREFIX = "spin-admission-probe-"
#: Answers the apiserver gives while it is still settling after a restart: asked again. A
#: webhook that answers with an error (500 "failed calling webhook") is an answer, kept; one the
#: apiserver could not reach is asked again for a while (``UNREACHABLE_PATIENCE``).
TRANSIENT_STATUS = frozenset({0, 429, 503})
ATTEMPTS = 5
#: How long one snapshot keeps asking again while a webhook cannot be reached (shared by its probes).
UNREACHABLE_PATIENCE = 90.0
#: How the apiserver words a webhook call that reached no server (Go's net and context errors).
UNREACHABLE_CAUSES = (
    "connection refused",
    "no endpoints available",
    "context deadline exceeded",
    "i/o timeout",
    "connection reset by peer",
    "no route to host",
    ": EOF",
)


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
    #: Seconds this probe was asked again because a webhook could not be reached (evidence only).
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


def webhook_unreachable(denial: str) -> bool:
    """Whether a denial is the apiserver failing to reach a webhook, rather than anyone's decision."""
    return "failed calling webhook" in denial and any(cause in denial for cause in UNREACHABLE_CAUSES)


def ask(
    api: client.ApiClient, namespace: str, name: str, body: dict[str, Any], *, unreachable_until: float = 0.0
) -> Answer:
    """Submit one probe with server-side dry-run; ask again while the server is settling, and
    while a webhook is unreachable until ``unreachable_until`` (a ``time.monotonic()`` deadline).

    A server that never settles is recorded as a denial saying so: the finding then carries the
    evidence, where an exception would only fail the detector.
    """
    core = client.CoreV1Api(api)
    body = json.loads(json.dumps(body))
    body["metadata"]["name"] = name
    last = ""
    attempt = 0
    started = time.monotonic()
    retried = False

    def waited() -> float:
        return round(time.monotonic() - started, 1) if retried else 0.0

    while True:
        try:
            admitted = core.create_namespaced_pod(namespace, body, dry_run="All", _preload_content=False)
        except client.ApiException as exc:
            last = _denial(exc)
            if exc.status not in TRANSIENT_STATUS:
                if webhook_unreachable(last) and time.monotonic() < unreachable_until:
                    retried = True
                    time.sleep(1.0)
                    continue
                return Answer(False, last, waited=waited())
        except (OSError, urllib3.exceptions.HTTPError) as exc:  # connection refused or reset
            last = str(exc)
        else:
            return Answer(True, mutation=policy_fields(json.loads(admitted.data)), waited=waited())
        attempt += 1
        if attempt == ATTEMPTS:
            return Answer(False, f"no answer after {ATTEMPTS} attempts: {last}")
        time.sleep(0.5 * attempt)


def snapshot(
    api: client.ApiClient, namespaces: list[str] | None = None, *, patience: float = UNREACHABLE_PATIENCE
) -> Table:
    """Every probe in every tenant namespace (or in ``namespaces``), under fixed pod names; an
    unreachable webhook is asked again for up to ``patience`` seconds over the whole snapshot."""
    core = client.CoreV1Api(api)
    unreachable_until = time.monotonic() + patience
    table: Table = {}
    for namespace in namespaces if namespaces is not None else tenant_namespaces(api):
        ids = tenant_ids(core.read_namespace(namespace))
        for probe, build in PROBES.items():
            key = f"{namespace}/{probe}"
            table[key] = ask(api, namespace, PROBE_PREFIX + probe, build(ids), unreachable_until=unreachable_until)
    return table


def _now_denied(new: Answer) -> str:
    if webhook_unreachable(new.denial):
        again = f", asked again for {new.waited:g}s" if new.waited else ""
        return f"now denied: a webhook could not be reached{again} ({new.denial})"
    return f"now denied ({new.denial})"


def compare(before: Table, after: Table, hop: str) -> list[Finding]:
    findings: list[Finding] = []
    for key in sorted(set(before) & set(after)):
        old, new = before[key], after[key]
        evidence = {"before": old.to_json(), "after": new.to_json()}
        if old.allowed != new.allowed:
            change = _now_denied(new) if not new.allowed else f"now admitted (was denied: {old.denial})"
            findings.append(
                Finding("admission-change", Severity.BREAKING, hop, key, f"probe pod {key}: {change}", evidence)
            )
        elif old.allowed and old.mutation != new.mutation:
            diff = DeepDiff(old.mutation, new.mutation, verbose_level=2).to_dict()
            evidence["diff"] = json.loads(json.dumps(diff, default=str))
            changed = ", ".join(
                k
                for k in sorted(old.mutation.keys() | new.mutation.keys())
                if old.mutation.get(k) != new.mutation.get(k)
            )
            findings.append(
                Finding(
                    "admission-change",
                    Severity.BREAKING,
                    hop,
                    key,
                    f"probe pod {key}: admission now sets {changed} differently",
                    evidence,
                )
            )
        elif not old.allowed and old.denial != new.denial:
            findings.append(
                Finding(
                    "admission-change",
                    Severity.INFO,
                    hop,
                    key,
                    f"probe pod {key}: still denied, with another message: {new.denial}",
                    evidence,
                )
            )
    return findings


DETECTOR = ApiDetector[Table](
    "admission-change", snapshot, lambda before, after, hop: compare(before, after, hop.label)
)
