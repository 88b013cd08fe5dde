"""The platform webhook and its CEL twin against a real kube-apiserver.

One local cluster serves the whole module (creating one takes seconds, a test here takes
about one). Every test gets its own tenant namespace and its own webhook server, and scopes
its registrations to that namespace by name, so a server left ``down`` by one test cannot
affect another. Most requests are server-side dry runs: admission runs in full, nothing is
stored. The last test holds the live decision and mutation against the policy oracle for
generated pods (hypothesis; failing examples are kept in ``.hypothesis/`` and replayed first).
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kubernetes import client

from harness.detectors import admission
from harness.findings import Severity
from harness.kube.client import api_client
from harness.kube.waits import wait_until
from harness.plugin import ClusterFactory
from harness.providers import Cluster, get_provider
from harness.versions import KubeVersion
from harness.webhooks.manifests import MUTATING_WEBHOOK, VALIDATING_WEBHOOK
from harness.webhooks.policy import (
    EXEMPT_LABEL,
    GID_ANNOTATION,
    GLOBAL_FS_ANNOTATION,
    GLOBAL_FS_NODE_LABEL,
    TENANT_LABEL,
    UID_ANNOTATION,
    USES_GLOBAL_FS_LABEL,
    Tenant,
    mutate_pod,
    validate_pod,
)
from harness.webhooks.server import (
    Mode,
    WebhookServer,
    registration_manifests,
    validating_admission_policy_manifests,
)
from tests.pod_strategies import GID, ROOT, UID, mounts_decide, pods
from tests.unit.test_webhook_policy import apply_patch

pytestmark = pytest.mark.e2e

_numbers = itertools.count()


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(
    request: pytest.FixtureRequest,
    e2e_versions: tuple[KubeVersion, KubeVersion],
) -> Iterator[Cluster]:
    provider = get_provider(request.config.getoption("--provider") or "local")
    if not provider.capabilities.loopback_webhooks:
        pytest.skip(f"provider {provider.name} cannot reach webhooks on the host's loopback")
    keep = bool(request.config.getoption("--keep-clusters"))
    factory = ClusterFactory(provider, keep, prefix=f"wh{os.getpid() % 100000}")
    try:
        yield factory.create(e2e_versions[1], nodes=2)
    finally:
        for note in factory.close():
            print(note)


@pytest.fixture
def api(cluster: Cluster) -> Iterator[client.ApiClient]:
    with contextlib.closing(api_client(cluster.kubeconfig)) as api:
        yield api


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    """A tenant namespace of tenant alpha, as the platform's project onboarding makes them."""
    name = f"alpha-{os.getpid() % 100000}-{next(_numbers)}"
    core.create_namespace(
        {
            "metadata": {
                "name": name,
                "labels": {TENANT_LABEL: "alpha"},
                "annotations": {
                    UID_ANNOTATION: str(UID),
                    GID_ANNOTATION: str(GID),
                    GLOBAL_FS_ANNOTATION: ROOT,
                },
            }
        }
    )
    yield name
    with contextlib.suppress(client.ApiException):
        core.delete_namespace(name)


@pytest.fixture
def webhook(cluster: Cluster, tmp_path: Path) -> Iterator[WebhookServer]:
    with WebhookServer(tmp_path / "webhook", kubeconfig=cluster.kubeconfig) as server:
        yield server
    leaked = [t.name for t in threading.enumerate() if t.name.startswith("webhook-server")]
    assert not leaked, f"threads left by the webhook server: {leaked}"


Register = Callable[..., None]


@pytest.fixture
def register(api: client.ApiClient, namespace: str) -> Iterator[Register]:
    """Register a server for this test's namespace only; removed again at teardown."""
    admission = client.AdmissionregistrationV1Api(api)
    created: list[tuple[str, str]] = []

    def do(server: WebhookServer, **options: Any) -> None:
        name = f"spin-{namespace}"
        selector = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
        for manifest in registration_manifests(server, name=name, namespace_selector=selector, **options):
            if manifest["kind"] == "ValidatingWebhookConfiguration":
                admission.create_validating_webhook_configuration(manifest)
            else:
                admission.create_mutating_webhook_configuration(manifest)
            created.append((manifest["kind"], name))

    yield do
    for kind, name in created:
        with contextlib.suppress(client.ApiException):
            if kind == "ValidatingWebhookConfiguration":
                admission.delete_validating_webhook_configuration(name)
            else:
                admission.delete_mutating_webhook_configuration(name)


# -- pods and requests ---------------------------------------------------------------


def pod(
    name: str,
    *,
    uid: int = UID,
    host_path: str | None = f"{ROOT}/work",
    privileged: bool = False,
    host_network: bool = False,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A pod that complies with the policy unless told otherwise."""
    container: dict[str, Any] = {
        "name": "app",
        "image": "registry.invalid/app:1",
        "securityContext": {
            "runAsUser": uid,
            "runAsGroup": GID,
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if privileged:
        container["securityContext"] = {"privileged": True}
    spec: dict[str, Any] = {"containers": [container]}
    if host_path is not None:
        container["volumeMounts"] = [{"name": "project", "mountPath": "/project"}]
        spec["volumes"] = [{"name": "project", "hostPath": {"path": host_path, "type": "Directory"}}]
    if host_network:
        spec["hostNetwork"] = True
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": spec,
    }


def rejection(core: client.CoreV1Api, namespace: str, body: dict[str, Any]) -> tuple[int, str]:
    """Dry-run create ``body``; the (HTTP status, message) it was refused with, or (0, "")."""
    try:
        core.create_namespaced_pod(namespace, body, dry_run="All")
    except client.ApiException as exc:
        try:
            message = str(json.loads(exc.body or "{}").get("message", exc.body))
        except json.JSONDecodeError:
            message = str(exc.body or exc.reason)
        return int(exc.status or 0), message
    return 0, ""


def wait_active(core: client.CoreV1Api, namespace: str) -> None:
    """Until both registrations are in effect (the apiserver picks them up from a watch)."""

    def both_active() -> tuple[bool, str]:
        status, message = rejection(core, namespace, pod("probe-privileged", privileged=True))
        validating = VALIDATING_WEBHOOK in message
        mutated = core.create_namespaced_pod(namespace, pod("probe-compliant"), dry_run="All")
        mutating = TENANT_LABEL in (mutated.metadata.labels or {})
        return (
            validating and mutating,
            f"validating {validating} ({status} {message[:200]}), mutating {mutating}",
        )

    wait_until("the webhook registrations to take effect", both_active, timeout=30)


def records_for(server: WebhookServer, name: str) -> list[str]:
    return [f"{r.path} {r.decision}" for r in server.requests if r.name == name]


# -- the webhook -------------------------------------------------------------------------


def test_privileged_pod_is_denied_with_the_webhook_message(
    core: client.CoreV1Api, namespace: str, webhook: WebhookServer, register: Register
) -> None:
    register(webhook)
    wait_active(core, namespace)
    status, message = rejection(core, namespace, pod("root-please", privileged=True, host_path=None))
    assert status == 403
    assert f'admission webhook "{VALIDATING_WEBHOOK}" denied the request' in message
    field = "spec.containers[0].securityContext.privileged"
    assert f"[privileged] {field}: container 'app' is privileged" in message
    assert "/validate denied" in records_for(webhook, "root-please")


def test_compliant_global_fs_pod_is_admitted_mutated_and_scheduled_to_a_global_fs_node(
    core: client.CoreV1Api, namespace: str, webhook: WebhookServer, register: Register
) -> None:
    register(webhook)
    wait_active(core, namespace)
    core.create_namespaced_pod(namespace, pod("analysis"))
    created = core.read_namespaced_pod("analysis", namespace)
    assert created.metadata.labels[TENANT_LABEL] == "alpha"
    assert created.metadata.labels[USES_GLOBAL_FS_LABEL] == "true"
    assert created.spec.security_context.seccomp_profile.type == "RuntimeDefault"
    required = created.spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution
    terms = required.node_selector_terms
    expressions = [(e.key, e.operator, e.values) for t in terms for e in t.match_expressions]
    assert expressions == [(GLOBAL_FS_NODE_LABEL, "In", ["mounted"])]

    def placement() -> tuple[str | None, str]:
        current = core.read_namespaced_pod("analysis", namespace)
        scheduled = [c for c in current.status.conditions or [] if c.type == "PodScheduled"]
        reason = scheduled[0].reason if scheduled else None
        return current.spec.node_name, f"node {current.spec.node_name}, PodScheduled reason {reason}"

    def unschedulable() -> tuple[bool, str]:
        node, detail = placement()
        return node is None and "Unschedulable" in detail, detail

    def bound() -> tuple[bool, str]:
        node, detail = placement()
        return node is not None, detail

    # No node has the global filesystem yet: the scheduler must refuse the pod...
    wait_until("the scheduler to find no global-fs node", unschedulable, timeout=30)
    # ...and place it on the one node that gets the label.
    core.patch_node("node-1", {"metadata": {"labels": {GLOBAL_FS_NODE_LABEL: "mounted"}}})
    try:
        wait_until("the pod to be scheduled", bound, timeout=60)
        assert placement()[0] == "node-1"
    finally:
        core.patch_node("node-1", {"metadata": {"labels": {GLOBAL_FS_NODE_LABEL: None}}})
    assert records_for(webhook, "analysis") == ["/mutate allowed", "/validate allowed"]


def test_wrong_uid_is_denied(
    core: client.CoreV1Api, namespace: str, webhook: WebhookServer, register: Register
) -> None:
    register(webhook)
    wait_active(core, namespace)
    status, message = rejection(core, namespace, pod("someone-else", uid=1000))
    assert status == 403
    assert f'admission webhook "{VALIDATING_WEBHOOK}" denied the request' in message
    assert "[run-as-user-mismatch]" in message and "runs as UID 1000" in message and str(UID) in message


def test_deny_all_mode_denies_even_a_compliant_pod(
    core: client.CoreV1Api, namespace: str, webhook: WebhookServer, register: Register
) -> None:
    register(webhook)
    wait_active(core, namespace)
    webhook.mode = Mode.DENY_ALL
    status, message = rejection(core, namespace, pod("fine"))
    assert status == 403 and "[deny-all]" in message


def test_fail_policy_with_the_server_down_refuses_pods(
    core: client.CoreV1Api, namespace: str, webhook: WebhookServer, register: Register
) -> None:
    register(webhook, failure_policy="Fail")
    wait_active(core, namespace)
    webhook.mode = Mode.DOWN
    status, message = rejection(core, namespace, pod("while-down"))
    assert status >= 500, message
    assert "failed calling webhook" in message
    assert MUTATING_WEBHOOK in message or VALIDATING_WEBHOOK in message
    assert "connection refused" in message


def test_ignore_policy_with_the_server_down_admits_pods_unmutated(
    core: client.CoreV1Api, namespace: str, webhook: WebhookServer, register: Register
) -> None:
    register(webhook, failure_policy="Ignore")
    wait_active(core, namespace)
    webhook.mode = Mode.DOWN
    admitted = core.create_namespaced_pod(namespace, pod("while-down", privileged=True), dry_run="All")
    assert TENANT_LABEL not in (admitted.metadata.labels or {}), "the mutation cannot have run"


def test_admission_change_detector_sees_the_webhook_and_pod_security_change_their_answers(
    api: client.ApiClient, core: client.CoreV1Api, namespace: str, webhook: WebhookServer, register: Register
) -> None:
    register(webhook, failure_policy="Ignore")
    wait_active(core, namespace)
    before = admission.snapshot(api, [namespace])
    restricted, privileged = before[f"{namespace}/restricted"], before[f"{namespace}/privileged"]
    assert restricted.allowed and restricted.mutation["labels"][TENANT_LABEL] == "alpha", restricted
    assert not privileged.allowed and VALIDATING_WEBHOOK in privileged.denial, privileged
    assert before[f"{namespace}/global-fs"].allowed and not before[f"{namespace}/global-fs-wrong-uid"].allowed

    # Plant what an upgrade might do: the webhook stops answering, and failurePolicy Ignore
    # lets pods through unmutated and unvalidated.
    webhook.mode = Mode.DOWN
    after = admission.snapshot(api, [namespace])

    found = {f.subject.split("/", 1)[1]: f for f in admission.compare(before, after, "planted")}
    assert found["restricted"].severity is Severity.BREAKING and "labels" in found["restricted"].detail
    assert found["privileged"].severity is Severity.BREAKING and "now admitted" in found["privileged"].detail
    assert found["host-etc"].severity is Severity.BREAKING and "now admitted" in found["host-etc"].detail
    assert VALIDATING_WEBHOOK in found["host-etc"].evidence["before"]["denial"]


def test_admission_change_detector_waits_for_an_unreachable_webhook_and_names_one_that_stays_away(
    api: client.ApiClient, core: client.CoreV1Api, namespace: str, webhook: WebhookServer, register: Register
) -> None:
    register(webhook, failure_policy="Fail")
    wait_active(core, namespace)
    before = admission.snapshot(api, [namespace])
    assert before[f"{namespace}/restricted"].allowed, before[f"{namespace}/restricted"]

    # Away for a few seconds, as an in-cluster webhook's pods are after a hop: the same answers.
    webhook.mode = Mode.DOWN
    back = threading.Timer(4.0, setattr, (webhook, "mode", Mode.NORMAL))
    back.start()
    try:
        after = admission.snapshot(api, [namespace], patience=60)
    finally:
        back.cancel()
        back.join()
    # The same answers, and one warning that they came only after waiting.
    (waits,) = admission.compare(before, after, "planted")
    assert (waits.severity, waits.subject) == (Severity.WARNING, "webhooks after the hop"), waits
    assert after[f"{namespace}/restricted"].waited >= 2, after[f"{namespace}/restricted"]

    # Away for longer than the detector waits: every probe is denied, and the finding says why.
    webhook.mode = Mode.DOWN
    gone = admission.snapshot(api, [namespace], patience=2)
    found = {f.subject.split("/", 1)[1]: f for f in admission.compare(before, gone, "planted")}
    restricted = found["restricted"]
    assert restricted.severity is Severity.BREAKING, restricted
    assert "now denied: a webhook could not be reached" in restricted.detail, restricted.detail
    assert "connection refused" in restricted.evidence["after"]["denial"]


def test_slow_webhook_fails_with_a_timeout(
    core: client.CoreV1Api, namespace: str, webhook: WebhookServer, register: Register
) -> None:
    register(webhook, timeout_seconds=2)
    wait_active(core, namespace)
    webhook.mode = Mode.SLOW
    started = time.monotonic()
    status, message = rejection(core, namespace, pod("patience"))
    elapsed = time.monotonic() - started
    assert status >= 500, message
    assert "failed calling webhook" in message
    assert "deadline exceeded" in message or "timeout" in message.lower()
    assert 1.5 <= elapsed < webhook.slow_seconds, f"refused after {elapsed:.1f}s"


def test_match_conditions_skip_exempt_pods_for_admins_only(
    api: client.ApiClient,
    cluster: Cluster,
    core: client.CoreV1Api,
    namespace: str,
    webhook: WebhookServer,
    register: Register,
) -> None:
    register(webhook, match_conditions=True)
    wait_active(core, namespace)
    exempt = {EXEMPT_LABEL: "true"}

    break_glass = pod("break-glass", privileged=True, labels=exempt)
    admitted = core.create_namespaced_pod(namespace, break_glass, dry_run="All")
    assert TENANT_LABEL not in (admitted.metadata.labels or {}), "the mutating webhook was called"
    assert records_for(webhook, "break-glass") == [], "the webhook was called for an exempt pod"

    # A tenant can label its own pods: from a non-admin the label must not work.
    rbac = client.RbacAuthorizationV1Api(api)
    rule = {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "get"]}
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "pods"}, "rules": [rule]})
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "alice-pods"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pods"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}],
        },
    )
    with contextlib.closing(api_client(cluster.kubeconfig)) as as_alice:
        as_alice.set_default_header("Impersonate-User", "alice")
        alice = client.CoreV1Api(as_alice)

        def denied_for_alice() -> tuple[bool, str]:
            status, message = rejection(alice, namespace, pod("self-exempt", privileged=True, labels=exempt))
            return status == 403 and VALIDATING_WEBHOOK in message, f"{status} {message[:300]}"

        wait_until("alice's exempt-labelled pod to be denied by the webhook", denied_for_alice, timeout=15)


def test_without_match_conditions_the_exempt_label_means_nothing(
    core: client.CoreV1Api, namespace: str, webhook: WebhookServer, register: Register
) -> None:
    register(webhook, match_conditions=False)
    wait_active(core, namespace)
    labelled = pod("not-exempt", privileged=True, labels={EXEMPT_LABEL: "true"})
    status, message = rejection(core, namespace, labelled)
    assert status == 403 and "[privileged]" in message


# -- the CEL twin --------------------------------------------------------------------


def test_validating_admission_policy_twin_denies_host_network(api: client.ApiClient, namespace: str) -> None:
    admission = client.AdmissionregistrationV1Api(api)
    core = client.CoreV1Api(api)
    name = f"spin-host-isolation-{namespace}"
    policy, binding = validating_admission_policy_manifests(
        name=name, namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    )
    admission.create_validating_admission_policy(policy)
    admission.create_validating_admission_policy_binding(binding)
    try:

        def host_network_denied() -> tuple[bool, str]:
            on_host = pod("on-the-host", host_network=True, host_path=None)
            status, message = rejection(core, namespace, on_host)
            return status != 0 and "[host-network]" in message, f"{status} {message[:300]}"

        wait_until("the ValidatingAdmissionPolicy to deny hostNetwork", host_network_denied, timeout=30)
        status, message = rejection(core, namespace, pod("on-the-host", host_network=True, host_path=None))
        assert status in (403, 422)
        assert f"ValidatingAdmissionPolicy '{name}' with binding '{name}' denied request" in message
        assert "[host-network] spec.hostNetwork: hostNetwork is not allowed for tenant pods" in message
        assert "[privileged]" in rejection(core, namespace, pod("root", privileged=True, host_path=None))[1]
        assert rejection(core, namespace, pod("fine", host_path=None)) == (0, "")

        def type_checked() -> tuple[bool, str]:
            current = admission.read_validating_admission_policy(name)
            observed = current.status.observed_generation if current.status else None
            return observed == current.metadata.generation, f"observed generation {observed}"

        wait_until("the policy's type checking", type_checked, timeout=30)
        checked = admission.read_validating_admission_policy(name).status.type_checking
        warnings = (checked.expression_warnings if checked else None) or []
        assert not warnings, [(w.field_ref, w.warning) for w in warnings]
    finally:
        with contextlib.suppress(client.ApiException):
            admission.delete_validating_admission_policy_binding(name)
        with contextlib.suppress(client.ApiException):
            admission.delete_validating_admission_policy(name)


# -- the oracle, live ------------------------------------------------------------------


def dry_run_create(core: client.CoreV1Api, namespace: str, body: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    """Like ``rejection``, plus the pod as the apiserver would have stored it ({} when refused).

    Strict field validation turns a field the Pod schema does not have into a 400 instead of
    a warning, so a strategy cannot send what the webhook never sees.
    """
    try:
        response = core.create_namespaced_pod(
            namespace, body, dry_run="All", field_validation="Strict", _preload_content=False
        )
    except client.ApiException as exc:
        try:
            message = str(json.loads(exc.body or "{}").get("message", exc.body))
        except json.JSONDecodeError:
            message = str(exc.body or exc.reason)
        return int(exc.status or 0), message, {}
    stored: dict[str, Any] = json.loads(response.data)
    return 0, "", stored


def test_live_admission_agrees_with_the_oracle_on_generated_pods(
    core: client.CoreV1Api, namespace: str, webhook: WebhookServer, register: Register
) -> None:
    register(webhook, failure_policy="Fail")
    wait_active(core, namespace)
    meta = core.read_namespace(namespace).metadata
    tenant = Tenant.from_namespace(meta.labels, meta.annotations)
    numbers = itertools.count()

    # Registered once for all examples; each example is one dry-run create.
    @settings(max_examples=40, deadline=None)
    @given(st.one_of(pods(valid=True), pods(valid=True).map(mounts_decide)))
    def admission_agrees(drawn: dict[str, Any]) -> None:
        body = copy.deepcopy(drawn)
        body["metadata"]["name"] = f"generated-{next(numbers)}"
        decision = validate_pod(body, tenant)
        status, message, stored = dry_run_create(core, namespace, body)
        assert status not in (400, 422), f"the strategy drew a pod the apiserver refuses as invalid: {message}"
        if not decision.allowed:
            assert status == 403, f"the oracle denies {decision.codes}; the apiserver said {status} {message!r}"
            denial = f'admission webhook "{VALIDATING_WEBHOOK}" denied the request: {decision.message()}'
            assert denial in message, f"oracle: {decision.message()!r}; apiserver: {message!r}"
            return
        assert status == 0, f"the oracle admits the pod; the apiserver said {status} {message!r}"
        expected = apply_patch(body, mutate_pod(body, tenant))
        assert stored["metadata"].get("labels") == expected["metadata"]["labels"]
        seccomp = expected["spec"]["securityContext"]["seccompProfile"]
        assert stored["spec"]["securityContext"].get("seccompProfile") == seccomp
        assert stored["spec"].get("affinity") == expected["spec"].get("affinity")

    admission_agrees()
