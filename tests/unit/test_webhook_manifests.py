"""Webhook registrations and the ValidatingAdmissionPolicy twin, as data.

The CEL itself is exercised by the real apiserver in ``tests/e2e/test_webhook_admission.py``;
here we check the shape the apiserver's validation requires and the scoping decisions.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

import pytest

from harness.errors import InputError
from harness.webhooks.manifests import (
    MUTATING_WEBHOOK,
    VALIDATING_WEBHOOK,
    ServiceEndpoint,
    exempt_condition,
    registration_manifests,
    validating_admission_policy_manifests,
)
from harness.webhooks.policy import EXEMPT_LABEL, TENANT_LABEL

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
#: Reason codes of the policy's host-isolation rule (see ``harness.webhooks.policy``).
HOST_ISOLATION_CODES = {"privileged", "host-network", "host-pid", "host-ipc"}


@dataclass
class Endpoint:
    url: str = "https://127.0.0.1:40001"
    ca_bundle: bytes = CA

    def client_config(self, path: str) -> dict[str, Any]:
        return {"url": self.url + path, "caBundle": base64.b64encode(self.ca_bundle).decode()}


def webhooks(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["kind"]: m["webhooks"][0] for m in manifests}


def test_one_validating_and_one_mutating_configuration_registered_by_url() -> None:
    manifests = registration_manifests(Endpoint(), name="spin-test")
    assert [(m["apiVersion"], m["kind"], m["metadata"]["name"]) for m in manifests] == [
        ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "spin-test"),
        ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "spin-test"),
    ]
    hooks = webhooks(manifests)
    validating, mutating = hooks["ValidatingWebhookConfiguration"], hooks["MutatingWebhookConfiguration"]
    assert validating["name"] == VALIDATING_WEBHOOK and mutating["name"] == MUTATING_WEBHOOK
    assert validating["clientConfig"] == {
        "url": "https://127.0.0.1:40001/validate",
        "caBundle": base64.b64encode(CA).decode(),
    }
    assert mutating["clientConfig"]["url"] == "https://127.0.0.1:40001/mutate"
    assert "service" not in validating["clientConfig"]
    for hook in hooks.values():
        assert hook["admissionReviewVersions"] == ["v1"]
        assert (hook["failurePolicy"], hook["sideEffects"], hook["timeoutSeconds"]) == ("Fail", "None", 5)
        assert hook["matchPolicy"] == "Equivalent"
        tenant_namespaces = {"matchExpressions": [{"key": TENANT_LABEL, "operator": "Exists"}]}
        assert hook["namespaceSelector"] == tenant_namespaces
        # the apiserver requires fully qualified webhook names (three or more DNS labels)
        assert re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+){2,}", hook["name"])


def test_pods_in_the_cluster_are_registered_by_service_under_their_own_webhook_names() -> None:
    endpoint = ServiceEndpoint("spin-webhook", "spin-platform-webhook", CA)
    names = ("validate.pods.in-cluster.platform.spin.example", "mutate.pods.in-cluster.platform.spin.example")
    hooks = webhooks(registration_manifests(endpoint, name="spin-in-cluster", webhook_names=names))
    validating, mutating = hooks["ValidatingWebhookConfiguration"], hooks["MutatingWebhookConfiguration"]
    assert (validating["name"], mutating["name"]) == names
    assert validating["clientConfig"] == {
        "service": {"namespace": "spin-webhook", "name": "spin-platform-webhook", "path": "/validate", "port": 443},
        "caBundle": base64.b64encode(CA).decode(),
    }
    assert mutating["clientConfig"]["service"]["path"] == "/mutate"
    assert "url" not in validating["clientConfig"]


def test_validation_covers_ephemeral_containers_and_mutation_only_creates() -> None:
    hooks = webhooks(registration_manifests(Endpoint()))
    validating = hooks["ValidatingWebhookConfiguration"]["rules"]
    mutating = hooks["MutatingWebhookConfiguration"]
    assert validating == [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["pods", "pods/ephemeralcontainers"],
            "scope": "Namespaced",
        }
    ]
    assert mutating["rules"][0]["operations"] == ["CREATE"] and mutating["rules"][0]["resources"] == ["pods"]
    assert mutating["reinvocationPolicy"] == "IfNeeded"


def test_options_reach_both_webhooks() -> None:
    selector = {"matchLabels": {"kubernetes.io/metadata.name": "alpha-1"}}
    manifests = registration_manifests(
        Endpoint(),
        failure_policy="Ignore",
        timeout_seconds=2,
        namespace_selector=selector,
        side_effects="NoneOnDryRun",
        match_conditions=False,
    )
    for hook in webhooks(manifests).values():
        assert hook["failurePolicy"] == "Ignore" and hook["timeoutSeconds"] == 2
        assert hook["namespaceSelector"] == selector and hook["sideEffects"] == "NoneOnDryRun"
        assert "matchConditions" not in hook


def test_match_conditions_exempt_labelled_pods_from_admins_only_by_default() -> None:
    for hook in webhooks(registration_manifests(Endpoint())).values():
        assert hook["matchConditions"] == [exempt_condition()]
    expression = exempt_condition()["expression"]
    assert f'"{EXEMPT_LABEL}" in object.metadata.labels' in expression
    assert "has(object.metadata.labels)" in expression, "pods without labels must not fail the condition"
    assert 'g in ["system:masters", "kubeadm:cluster-admins"]' in expression
    assert expression.startswith("!(") and expression.endswith(")")


def test_the_label_alone_can_exempt_when_asked_for() -> None:
    expression = exempt_condition(())["expression"]
    assert "userInfo" not in expression and EXEMPT_LABEL in expression
    groups = exempt_condition(['platform:"admins"'])["expression"]
    assert r'["platform:\"admins\""]' in groups, "group names are quoted as CEL strings"


@pytest.mark.parametrize(
    "options",
    [
        {"failure_policy": "fail"},
        {"timeout_seconds": 0},
        {"timeout_seconds": 31},
        {"side_effects": "Some"},
    ],
)
def test_values_the_apiserver_would_reject_are_refused_early(options: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        registration_manifests(Endpoint(), **options)


def test_the_policy_twin_and_its_binding() -> None:
    policy, binding = validating_admission_policy_manifests(name="twin")
    assert (policy["apiVersion"], policy["kind"]) == (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicy",
    )
    assert binding["kind"] == "ValidatingAdmissionPolicyBinding"
    assert binding["spec"]["policyName"] == "twin" == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert binding["spec"]["matchResources"]["namespaceSelector"] == {
        "matchExpressions": [{"key": TENANT_LABEL, "operator": "Exists"}]
    }
    rules = policy["spec"]["matchConstraints"]["resourceRules"]
    assert rules[0]["resources"] == ["pods", "pods/ephemeralcontainers"]
    assert policy["spec"]["failurePolicy"] == "Fail"


def test_the_twin_speaks_the_oracles_reason_codes() -> None:
    policy, _ = validating_admission_policy_manifests()
    validations = policy["spec"]["validations"]
    codes = {re.match(r"\[([a-z-]+)\]", v["message"]).group(1) for v in validations}  # type: ignore[union-attr]
    assert codes == HOST_ISOLATION_CODES
    assert all(v["reason"] == "Forbidden" for v in validations)
    privileged = [v["expression"] for v in validations if v["message"].startswith("[privileged]")]
    assert len(privileged) == 3, "containers, initContainers and ephemeralContainers are checked separately"
    assert all(e.startswith("!has(object.spec.") for e in privileged)


def test_the_twin_can_warn_instead_of_deny() -> None:
    _, binding = validating_admission_policy_manifests(validation_actions=("Warn", "Audit"))
    assert binding["spec"]["validationActions"] == ["Warn", "Audit"]
