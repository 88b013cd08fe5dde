"""The webhook held against an independent oracle: the same policy in CEL, in the apiserver.

The Python webhook (``harness.webhooks.policy`` behind ``WebhookServer``) and the
ValidatingAdmissionPolicy of ``harness.webhooks.cel_policy`` are two readings of one written
policy, by different code in different languages. One local cluster per Kubernetes minor (the
newest two) carries both, for disjoint namespaces: each tenant spelling below has a namespace
guarded only by the webhook (``wh-...``) and one guarded only by the CEL policy (``cel-...``),
with the same labels and annotations. Every generated pod (supplemental groups and fsGroup
included) is a server-side dry-run create in both; allowed or denied must agree, and so must
the set of reason codes: the webhook's denial lists all of them, the CEL policy's Warn binding
returns one warning per failing rule. A disagreement prints the pod as YAML, the tenant and
both answers; hypothesis keeps it in ``.hypothesis/`` and replays it first.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from hypothesis import given, note, settings
from hypothesis import strategies as st
from kubernetes import client

from harness.kube.client import api_client
from harness.kube.waits import wait_until
from harness.plugin import ClusterFactory
from harness.providers import get_provider
from harness.versions import KubeVersion
from harness.webhooks import WebhookServer, registration_manifests
from harness.webhooks.cel_policy import binding_manifest, cel_policy_manifests
from harness.webhooks.manifests import VALIDATING_WEBHOOK
from harness.webhooks.policy import GID_ANNOTATION, GLOBAL_FS_ANNOTATION, TENANT_LABEL, UID_ANNOTATION
from tests.pod_strategies import COMPLIANT, GID, ROOT, UID, containers, mounts_decide, pods

pytestmark = pytest.mark.e2e

POLICY = "cel-oracle"
IMAGE = "registry.invalid/app:1"
#: Its warnings carry every failing rule's code. The apiserver keeps 4096 runes of warnings and,
#: past that, 256 of each: at most 15 of the 17 validations can fail for a pod it accepts (it
#: refuses ``..`` itself), so every warning and its leading code survive.
WARN_BINDING = f"{POLICY}-warn"
WEBHOOK_DENIAL = f'admission webhook "{VALIDATING_WEBHOOK}" denied the request: '
POLICY_DENIAL = f"ValidatingAdmissionPolicy '{POLICY}' with binding '{POLICY}' denied request: "
WARNED_CODE = re.compile(rf"with binding '{WARN_BINDING}': \[([a-z-]+)\]")
DENIED_CODE = re.compile(r"(?:^|; )\[([a-z-]+)\] ")

#: Tenant alpha as onboarding may spell it, and namespaces whose identity or root is unusable.
TENANTS: dict[str, dict[str, str]] = {
    "alpha": {UID_ANNOTATION: str(UID), GID_ANNOTATION: str(GID), GLOBAL_FS_ANNOTATION: ROOT},
    "loosely-spelled": {UID_ANNOTATION: f" {UID}", GID_ANNOTATION: f"00{GID} ", GLOBAL_FS_ANNOTATION: f"/{ROOT}/./"},
    # An ASCII information separator is no white space to the apiserver's CEL trim(): no identity.
    "separator-uid": {UID_ANNOTATION: f"\x1f{UID}", GID_ANNOTATION: str(GID), GLOBAL_FS_ANNOTATION: ROOT},
    "root-gid": {UID_ANNOTATION: str(UID), GID_ANNOTATION: "0", GLOBAL_FS_ANNOTATION: ROOT},
    "traversing-root": {UID_ANNOTATION: str(UID), GID_ANNOTATION: str(GID), GLOBAL_FS_ANNOTATION: f"{ROOT}/../alpha"},
    "unannotated": {},
}


@dataclass(frozen=True)
class Answer:
    """What the apiserver said to one dry-run create: status 0 when admitted."""

    status: int
    message: str
    codes: frozenset[str]

    @property
    def admitted(self) -> bool:
        return self.status == 0

    def show(self) -> str:
        verdict = "admitted" if self.admitted else f"{self.status} {self.message}"
        return f"{verdict}; codes {sorted(self.codes)}"


Request = Callable[[str], Any]


def attempt(request: Request, namespace: str) -> tuple[int, str, list[str]]:
    """Send ``request`` to ``namespace``: (status, message, Warning headers), status 0 when admitted."""
    try:
        response = request(namespace)
    except client.ApiException as exc:
        try:
            message = str(json.loads(exc.body or "{}").get("message", exc.body))
        except json.JSONDecodeError:
            message = str(exc.body or exc.reason)
        return int(exc.status or 0), message, warnings_of(exc.headers)
    return 0, "", warnings_of(response.headers)


def warnings_of(headers: Any) -> list[str]:
    if headers is None:
        return []
    values = headers.getlist("Warning") if hasattr(headers, "getlist") else [headers.get("Warning")]
    return [str(v) for v in values if v]


@dataclass
class Oracle:
    """The cluster with the webhook on ``wh-<tenant>`` and the CEL policy on ``cel-<tenant>``.

    Requests are server-side dry runs with strict field validation: admission runs in full,
    nothing is stored, and a field the Pod schema lacks is a 400 rather than silently dropped.
    """

    core: client.CoreV1Api
    admission: client.AdmissionregistrationV1Api

    def webhook(self, tenant: str, request: Request) -> Answer:
        status, message, _ = attempt(request, f"wh-{tenant}")
        if status == 403 and WEBHOOK_DENIAL in message:
            return Answer(status, message, frozenset(DENIED_CODE.findall(message.partition(WEBHOOK_DENIAL)[2])))
        return Answer(status, message, frozenset())

    def cel(self, tenant: str, request: Request) -> Answer:
        status, message, warnings = attempt(request, f"cel-{tenant}")
        return Answer(status, message, frozenset(WARNED_CODE.findall(" ".join(warnings))))

    def create(self, body: dict[str, Any]) -> Request:
        def send(namespace: str) -> Any:
            return self.core.create_namespaced_pod(
                namespace, body, dry_run="All", field_validation="Strict", _preload_content=False
            )

        return send

    def debug(self, pod: str, container: dict[str, Any]) -> Request:
        """Add ``container`` to ``pod`` as an ephemeral container, as ``kubectl debug`` does."""
        patch = {"spec": {"ephemeralContainers": [container]}}

        def send(namespace: str) -> Any:
            return self.core.patch_namespaced_pod_ephemeralcontainers(
                pod, namespace, patch, dry_run="All", field_validation="Strict", _preload_content=False
            )

        return send


def compare(webhook: Answer, cel: Answer, tenant: str, shown: str) -> None:
    """The property: same verdict, same reason codes; the report names everything."""
    report = f"tenant {tenant} {TENANTS[tenant]}\n  webhook: {webhook.show()}\n  CEL:     {cel.show()}\n{shown}"
    for answer in (webhook, cel):
        assert answer.status not in (400, 422), f"the strategy drew a request the apiserver refuses:\n{report}"
    assert webhook.admitted or webhook.codes, f"not the webhook's denial:\n{report}"
    assert cel.admitted or POLICY_DENIAL in cel.message, f"not the CEL policy's denial:\n{report}"
    assert (webhook.admitted, webhook.codes) == (cel.admitted, cel.codes), f"disagreement:\n{report}"
    first = DENIED_CODE.findall(cel.message.partition(POLICY_DENIAL)[2])
    assert cel.admitted or set(first) <= cel.codes, f"the Warn binding missed the denial's code:\n{report}"


def selector(names: list[str]) -> dict[str, Any]:
    return {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": names}]}


def pod(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def privileged_probe() -> dict[str, Any]:
    container = {"name": "probe", "image": IMAGE, "securityContext": {"privileged": True}}
    return pod("probe", {"containers": [container]})


#: Pods that debug containers are added to, in both namespaces of tenant alpha: one with the
#: project's working directory and read-only area mounted (identity rules apply, inherited
#: from the pod level), and one without volumes (only host isolation applies).
DEBUGGED = {
    "global-fs": pod(
        "global-fs",
        {
            "securityContext": {"runAsUser": UID, "runAsGroup": GID, "supplementalGroups": [GID]},
            "containers": [
                {
                    "name": "app",
                    "image": IMAGE,
                    "securityContext": COMPLIANT,
                    "volumeMounts": [
                        {"name": "work", "mountPath": "/work"},
                        {"name": "data", "mountPath": "/data", "readOnly": True},
                    ],
                }
            ],
            "volumes": [
                {"name": "work", "hostPath": {"path": f"{ROOT}/work"}},
                {"name": "data", "hostPath": {"path": f"{ROOT}/readonly"}},
            ],
        },
    ),
    "plain": pod("plain", {"containers": [{"name": "app", "image": IMAGE}]}),
}


def wait_in_force(oracle: Oracle) -> None:
    """Until every namespace's guard answers (registrations and policies take effect from a watch)."""

    def both_deny(tenant: str) -> tuple[bool, str]:
        probe = oracle.create(privileged_probe())
        webhook, cel = oracle.webhook(tenant, probe), oracle.cel(tenant, probe)
        ready = webhook.codes == cel.codes == {"privileged"} and POLICY_DENIAL in cel.message
        return ready, f"webhook: {webhook.show()}; CEL: {cel.show()}"

    for tenant in TENANTS:
        what = f"the webhook and the CEL policy to guard tenant {tenant}"
        wait_until(what, lambda tenant=tenant: both_deny(tenant), timeout=60)


def names(guard: str) -> list[str]:
    return [f"{guard}-{tenant}" for tenant in TENANTS]


def guard_namespaces(oracle: Oracle, server: WebhookServer) -> None:
    """The namespaces, the webhook for ``wh-*``, the CEL policy (Deny and Warn) for ``cel-*``."""
    for tenant, spelled in TENANTS.items():
        for guard in ("wh", "cel"):
            metadata = {"name": f"{guard}-{tenant}", "labels": {TENANT_LABEL: "alpha"}, "annotations": spelled}
            oracle.core.create_namespace({"metadata": metadata})
    for manifest in registration_manifests(server, name=POLICY, namespace_selector=selector(names("wh"))):
        if manifest["kind"] == "ValidatingWebhookConfiguration":
            oracle.admission.create_validating_webhook_configuration(manifest)
        else:
            oracle.admission.create_mutating_webhook_configuration(manifest)
    cel = selector(names("cel"))
    policy, binding = cel_policy_manifests(name=POLICY, namespace_selector=cel)
    warn = binding_manifest(POLICY, name=WARN_BINDING, namespace_selector=cel, validation_actions=("Warn",))
    oracle.admission.create_validating_admission_policy(policy)
    oracle.admission.create_validating_admission_policy_binding(binding)
    oracle.admission.create_validating_admission_policy_binding(warn)
    wait_in_force(oracle)
    for guard in ("wh", "cel"):
        for body in DEBUGGED.values():
            oracle.core.create_namespaced_pod(f"{guard}-alpha", body)


@pytest.fixture(scope="module", params=["previous", "newest"])
def oracle(
    request: pytest.FixtureRequest,
    e2e_versions: tuple[KubeVersion, KubeVersion],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Oracle]:
    """One cluster per minor (the newest two), guarded as ``guard_namespaces`` says."""
    provider = get_provider(request.config.getoption("--provider") or "local")
    if not provider.capabilities.loopback_webhooks:
        pytest.skip(f"provider {provider.name} cannot reach webhooks on the host's loopback")
    version = e2e_versions[0] if request.param == "previous" else e2e_versions[1]
    keep = bool(request.config.getoption("--keep-clusters"))
    factory = ClusterFactory(provider, keep, prefix=f"cel{os.getpid() % 100000}")
    try:
        cluster = factory.create(version)
        with (
            contextlib.closing(api_client(cluster.kubeconfig)) as api,
            WebhookServer(tmp_path_factory.mktemp("webhook"), kubeconfig=cluster.kubeconfig) as server,
        ):
            oracle = Oracle(client.CoreV1Api(api), client.AdmissionregistrationV1Api(api))
            guard_namespaces(oracle, server)
            yield oracle
    finally:
        for line in factory.close():
            print(line)


def test_the_cel_policy_type_checks_against_the_pod_schema(oracle: Oracle) -> None:
    def checked() -> tuple[bool, str]:
        current = oracle.admission.read_validating_admission_policy(POLICY)
        observed = current.status.observed_generation if current.status else None
        return observed == current.metadata.generation, f"observed generation {observed}"

    wait_until("the policy's type checking", checked, timeout=30)
    status = oracle.admission.read_validating_admission_policy(POLICY).status
    warnings = (status.type_checking.expression_warnings if status.type_checking else None) or []
    assert not warnings, [(w.field_ref, w.warning) for w in warnings]


def test_webhook_and_cel_policy_agree_on_generated_pods(oracle: Oracle) -> None:
    numbers = itertools.count()
    seen: set[bool] = set()

    @settings(deadline=None)
    @given(st.sampled_from(list(TENANTS)), st.one_of(pods(valid=True), pods(valid=True).map(mounts_decide)))
    def agree(tenant: str, drawn: dict[str, Any]) -> None:
        body = copy.deepcopy(drawn)
        body["metadata"]["name"] = f"generated-{next(numbers)}"
        shown = "pod:\n" + yaml.safe_dump(body, sort_keys=False)
        note(f"tenant {tenant}; {shown}")
        request = oracle.create(body)
        webhook, cel = oracle.webhook(tenant, request), oracle.cel(tenant, request)
        compare(webhook, cel, tenant, shown)
        seen.add(webhook.admitted)

    agree()
    assert seen == {True, False}, "every generated pod got the same verdict: the property checked too little"


@st.composite
def debug_containers(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A pod of ``DEBUGGED`` and an ephemeral container for it (no subPath: the apiserver forbids it)."""
    target = draw(st.sampled_from(sorted(DEBUGGED)))
    volumes = [v["name"] for v in DEBUGGED[target]["spec"].get("volumes", [])]
    container = draw(containers(volumes, valid=True, names=("debug",)))
    for mount in container.get("volumeMounts", []):
        mount.pop("subPath", None)
        mount.pop("subPathExpr", None)
    return target, container


def test_webhook_and_cel_policy_agree_on_generated_debug_containers(oracle: Oracle) -> None:
    """The ``pods/ephemeralcontainers`` subresource, an UPDATE, where the pod cannot be drawn whole."""
    seen: set[bool] = set()

    @settings(deadline=None)
    @given(debug_containers())
    def agree(drawn: tuple[str, dict[str, Any]]) -> None:
        target, container = drawn
        shown = f"ephemeral container for pod {target}:\n" + yaml.safe_dump(container, sort_keys=False)
        note(shown)
        request = oracle.debug(target, container)
        webhook, cel = oracle.webhook("alpha", request), oracle.cel("alpha", request)
        compare(webhook, cel, "alpha", shown)
        seen.add(webhook.admitted)

    agree()
    assert seen == {True, False}, "every debug container got the same verdict: the property checked too little"


def test_a_large_pod_is_decided_within_the_cel_cost_limits(oracle: Oracle) -> None:
    """15 containers mounting 20 hostPath volumes each: beyond real pods, well within budget.

    A rule over its runtime cost limit denies (``failurePolicy: Fail``) with a cost error
    instead of a reason code, so the agreement on both answers shows the limits are not hit.
    """
    volumes = [{"name": f"v{i}", "hostPath": {"path": f"{ROOT}/./work//{i}/"}} for i in range(20)]
    mounts = [{"name": f"v{i}", "mountPath": f"/m{i}", "subPath": "a/./b"} for i in range(20)]

    def container(name: str) -> dict[str, Any]:
        return {"name": name, "image": IMAGE, "securityContext": COMPLIANT, "volumeMounts": mounts}

    spec = {
        "containers": [container(f"app{i}") for i in range(10)],
        "initContainers": [container(f"init{i}") for i in range(5)],
        "volumes": volumes,
    }
    compliant = pod("large", spec)
    request = oracle.create(compliant)
    compare(oracle.webhook("alpha", request), oracle.cel("alpha", request), "alpha", "a large compliant pod")
    assert oracle.cel("alpha", request).admitted
    writable = copy.deepcopy(compliant)
    writable["spec"]["volumes"][19]["hostPath"]["path"] = f"{ROOT}/readonly"
    request = oracle.create(writable)
    cel = oracle.cel("alpha", request)
    compare(oracle.webhook("alpha", request), cel, "alpha", "a large pod with a writable read-only mount")
    assert cel.codes == {"readonly-area-writable"}, cel.show()
