"""Broken platforms and broken scenarios fail the right step, with a message a person can act on."""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import time
from pathlib import Path

import pytest
from kubernetes import client

from harness.kube.client import api_client
from harness.providers.base import Cluster
from harness.scenarios import Status, StepFailed, load_scenario
from harness.webhooks.server import Mode
from tests.scenarios.conftest import SHIPPED, ScenarioFactory, runner

pytestmark = pytest.mark.e2e

NAMESPACE = "planted"
SECRET_VALUE = "do-not-print-me-42"

#: A namespace with restricted Pod Security, a ConfigMap and a Secret to assert on.
OBJECTS = f"""\
apiVersion: v1
kind: Namespace
metadata:
  name: {NAMESPACE}
  labels: {{pod-security.kubernetes.io/enforce: restricted}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {NAMESPACE}}}
data: {{size: "2"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: token, namespace: {NAMESPACE}}}
stringData: {{token: {SECRET_VALUE}}}
"""

SETUP = """\
setup:
  - name: objects
    per_tenant: false
    apply: {template: objects.yaml.j2}
"""

TEARDOWN = """\
teardown:
  - name: objects
    per_tenant: false
    delete: {template: objects.yaml.j2}
"""


def exists(cluster: Cluster, kind: str, name: str, namespace: str) -> bool:
    with contextlib.closing(api_client(cluster.kubeconfig)) as api:
        core = client.CoreV1Api(api)
        read = core.read_namespaced_config_map if kind == "ConfigMap" else core.read_namespaced_pod
        try:
            read(name, namespace)
        except client.ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True


def test_a_write_the_platform_should_refuse_but_allows_fails_by_name(local_cluster: Cluster, tmp_path: Path) -> None:
    """A platform regression: the viewer role grants writes. The viewer step fails, names the
    tenant, shows expected vs observed, and undoes the write it should never have made."""
    broken = tmp_path / "tenant-rbac"
    shutil.copytree(SHIPPED / "tenant-rbac", broken)
    roles = (broken / "roles.yaml.j2").read_text()
    viewer_rule = 'reject("equalto", "secrets") | list | tojson }}\n  verbs: {{ read | tojson }}'
    assert viewer_rule in roles
    (broken / "roles.yaml.j2").write_text(roles.replace(viewer_rule, viewer_rule.replace("read", "write")))
    scenario = load_scenario(broken)
    with runner(scenario, local_cluster) as harness_runner:
        harness_runner.run_phase("setup")
        with pytest.raises(StepFailed) as by_review:
            harness_runner.run_phase("verify")
        # Without the SubjectAccessReview table, the real request as the viewer is what fails.
        without_table = runner(scenario, local_cluster, params={"access_table": []})
        with without_table, pytest.raises(StepFailed) as by_request:
            without_table.run_phase("verify")
        harness_runner.run_phase("teardown")

    review = by_review.value
    assert (review.phase, review.path, review.tenant) == ("verify", "verify[1]", "alpha")
    assert review.title == "access decisions match the role table (SubjectAccessReview)"
    assert "alpha-viewer create core/configmaps in tenant-alpha: expected denied" in review.observed

    failure = by_request.value
    text = str(failure)
    assert text.splitlines()[0] == (
        'scenario tenant-rbac, verify step verify[2].as_user.steps[1] "viewer cannot create a ConfigMap" '
        "failed for tenant alpha"
    )
    assert f"at: {broken / 'scenario.yaml'}:" in text
    assert "expected: create ConfigMap tenant-alpha/viewer-note is refused (forbidden" in text
    assert (
        "observed: the request was allowed: ConfigMap tenant-alpha/viewer-note was created "
        "(and has been deleted again)" in text
    )
    assert failure.result is not None and failure.result.status is Status.FAILED
    passed = [s.path for s in failure.result.steps if s.status is Status.PASSED]
    assert "verify[2].as_user.steps[0]" in passed, "steps before the failure ran and passed"


def test_webhook_down_with_failure_policy_fail_fails_the_first_webhook_step(local_cluster: Cluster) -> None:
    """A platform outage: the admission webhook stops answering. Its registration says
    failurePolicy Fail, so the apiserver refuses pods for the wrong reason, and the step that
    expects the webhook's own refusal fails saying what the apiserver answered instead."""
    scenario = load_scenario(SHIPPED / "admission-webhooks")
    with runner(scenario, local_cluster) as harness_runner:
        harness_runner.run_phase("setup")
        try:
            harness_runner.services.get("admission-webhook").mode = Mode.DOWN
            with pytest.raises(StepFailed) as caught:
                harness_runner.run_phase("verify")
        finally:
            harness_runner.run_phase("teardown")
    failure = caught.value
    assert (failure.phase, failure.path, failure.tenant) == ("verify", "verify[1]", "alpha")
    assert failure.title == "a pod running as another tenant's uid is refused by the webhook"
    assert "failed calling webhook" in failure.observed and "connection refused" in failure.observed
    assert "mutate.pods.platform.spin.example" in failure.observed, "the mutating webhook is called first"


def test_a_field_with_the_wrong_value_shows_expected_and_observed(
    local_cluster: Cluster, make_scenario: ScenarioFactory
) -> None:
    scenario = make_scenario(
        SETUP,
        """\
        verify:
          - name: settings have the new size
            per_tenant: false
            assert:
              kind: ConfigMap
              name: settings
              namespace: planted
              fields: {data.size: "3"}
              timeout: 2
        """,
        TEARDOWN,
        files={"objects.yaml.j2": OBJECTS},
    )
    with runner(scenario, local_cluster) as harness_runner:
        harness_runner.run_phase("setup")
        started = time.monotonic()
        with pytest.raises(StepFailed) as caught:
            harness_runner.run_phase("verify")
        waited = time.monotonic() - started
        harness_runner.run_phase("teardown")
    text = str(caught.value)
    assert 'scenario planted, verify step verify[0] "settings have the new size" failed' in text
    assert "expected: ConfigMap planted/settings exists with data.size = '3'" in text
    assert "observed: still not so after 2s: data.size: expected '3', observed '2'" in text
    assert 2 <= waited < 10, "the step's own timeout bounds the wait"


def test_secret_values_never_reach_messages_or_results(local_cluster: Cluster, make_scenario: ScenarioFactory) -> None:
    scenario = make_scenario(
        SETUP,
        """\
        verify:
          - name: the token was rotated
            per_tenant: false
            assert:
              kind: Secret
              name: token
              namespace: planted
              fields: {data.token: rotated}
              timeout: 1
        """,
        TEARDOWN,
        files={"objects.yaml.j2": OBJECTS},
    )
    encoded = base64.b64encode(SECRET_VALUE.encode()).decode()
    with runner(scenario, local_cluster) as harness_runner:
        setup = harness_runner.run_phase("setup")
        verify = harness_runner.run_phase("verify", raise_on_failure=False)
        harness_runner.run_phase("teardown")
    assert verify.status is Status.FAILED
    text = str(verify.failures[0])
    assert "data.token: expected 'rotated', observed '<redacted>'" in text
    everything = json.dumps([setup.to_json(), verify.to_json()]) + text
    assert SECRET_VALUE not in everything and encoded not in everything


def test_a_refusal_for_another_reason_is_a_failure(local_cluster: Cluster, make_scenario: ScenarioFactory) -> None:
    scenario = make_scenario(
        SETUP,
        """\
        verify:
          - name: a privileged pod is over quota
            per_tenant: false
            expect_denied:
              reason: quota
              manifest:
                apiVersion: v1
                kind: Pod
                metadata: {name: privileged, namespace: planted}
                spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}
        """,
        TEARDOWN,
        files={"objects.yaml.j2": OBJECTS},
    )
    with runner(scenario, local_cluster) as harness_runner:
        harness_runner.run_phase("setup")
        with pytest.raises(StepFailed) as caught:
            harness_runner.run_phase("verify")
        harness_runner.run_phase("teardown")
    assert caught.value.expected == "create Pod planted/privileged is refused (quota)"
    assert caught.value.observed.startswith("refused for another reason (admission): 403 Forbidden: ")
    assert "violates PodSecurity" in caught.value.observed
    assert not exists(local_cluster, "Pod", "privileged", NAMESPACE)


def test_teardown_runs_every_step_and_its_failures_count(
    local_cluster: Cluster, make_scenario: ScenarioFactory
) -> None:
    scenario = make_scenario(
        SETUP,
        """\
        teardown:
          - name: the default namespace is gone (it never is)
            per_tenant: false
            assert: {kind: Namespace, name: default, present: false, timeout: 1}
          - name: settings
            per_tenant: false
            delete: {kind: ConfigMap, name: settings, namespace: planted}
          - name: objects
            per_tenant: false
            delete: {template: objects.yaml.j2}
        """,
        files={"objects.yaml.j2": OBJECTS},
    )
    with runner(scenario, local_cluster) as harness_runner:
        harness_runner.run_phase("setup")
        with pytest.raises(StepFailed) as caught:
            harness_runner.run_phase("teardown")
    result = caught.value.result
    assert result is not None and result.phase == "teardown" and result.status is Status.FAILED
    assert [s.status for s in result.steps] == [Status.FAILED, Status.PASSED, Status.PASSED]
    assert not exists(local_cluster, "ConfigMap", "settings", NAMESPACE)
    assert "Namespace default still exists" in str(caught.value)


def test_capability_gated_steps_are_skipped_with_the_reason_never_passed(
    local_cluster: Cluster, make_scenario: ScenarioFactory
) -> None:
    scenario = make_scenario(
        """\
        verify:
          - name: the API answers
            per_tenant: false
            assert: {kind: Namespace, name: default}
          - name: traffic reaches the pods through the ingress
            requires: [ingress-data-path]
            assert: {kind: Namespace, name: never-created, timeout: 1}
        """
    )
    with runner(scenario, local_cluster) as harness_runner:
        result = harness_runner.run_phase("verify")
    assert result.status is Status.PASSED
    (skipped,) = result.skipped_steps
    assert (skipped.path, skipped.message) == (
        "verify[1]",
        "needs ingress-data-path, which provider local does not have",
    )
    # With the capability, the same step runs (and fails here, proving it was not run before).
    capable = runner(scenario, local_cluster, capabilities={"ingress-data-path"})
    with capable, pytest.raises(StepFailed, match="Namespace never-created not found"):
        capable.run_phase("verify")
    # A phase whose every step is gated is skipped as a whole, with the reason.
    gated = make_scenario(
        """\
        verify:
          - requires: [real-containers]
            assert: {kind: Namespace, name: default}
        """,
        name="all-gated",
    )
    with runner(gated, local_cluster) as harness_runner:
        whole = harness_runner.run_phase("verify")
    assert whole.status is Status.SKIPPED
    assert whole.reason == "needs real-containers, which provider local does not have"


def test_probes_record_a_timeline_of_attempts(local_cluster: Cluster, make_scenario: ScenarioFactory) -> None:
    scenario = make_scenario(
        SETUP,
        """\
        during:
          - name: settings stay readable
            probe:
              interval: 0.2
              steps:
                - per_tenant: false
                  assert: {kind: ConfigMap, name: settings, namespace: planted}
          - name: a ConfigMap nobody created
            probe:
              interval: 0.2
              steps:
                - as_user:
                    user: "{{ tenant.users.owner }}"
                    steps:
                      - assert: {kind: ConfigMap, name: missing, namespace: "{{ tenant.namespace }}"}
        """,
        TEARDOWN,
        files={"objects.yaml.j2": OBJECTS},
    )
    with runner(scenario, local_cluster) as harness_runner:
        harness_runner.run_phase("setup")
        handle = harness_runner.start_during()
        time.sleep(1.5)
        readable, missing = handle.stop()
        assert handle.stop() == [readable, missing], "stop is idempotent"
        harness_runner.run_phase("teardown")
    assert readable.name == "planted: settings stay readable"
    assert len(readable.attempts) >= 3 and readable.availability() == 1.0
    assert all(a.latency > 0 for a in readable.attempts)
    assert [a.at for a in readable.attempts] == sorted(a.at for a in readable.attempts)
    assert missing.availability() == 0.0 and missing.attempts
    error = missing.attempts[0].error
    assert "during[1].probe.steps[0].as_user.steps[0] [alpha]" in error
    assert "reading it was refused: 403 Forbidden" in error, "the owner has no RBAC here: the refusal shows"
