"""Registrations for the platform webhook, and the CEL twin of its host-isolation rule.

``registration_manifests`` registers a running ``WebhookServer`` by URL (``clientConfig.url``
plus its CA as ``caBundle``), which is how a webhook outside the cluster is reached; inside a
real platform it would be a Service reference instead, with the same rules.

Scope: pods in namespaces labelled ``platform.spin.example/tenant`` (any value), so system
namespaces can never be locked out by a broken webhook. Optionally ``matchConditions`` (CEL,
GA since 1.30) skip pods labelled ``platform.spin.example/exempt: "true"``. A pod label is
something any tenant can set, so by default the exemption is honoured only when the request
comes from a member of ``exempt_groups`` (cluster admins); pass ``exempt_groups=()`` to let the
label alone decide, knowingly.

``validating_admission_policy_manifests`` is the in-process twin of the policy's host
isolation rule (privileged containers, hostNetwork, hostPID, hostIPC) as a
ValidatingAdmissionPolicy (``admissionregistration.k8s.io/v1``, GA since 1.30): it keeps
working when the webhook is down, and testing both against the same pods shows they agree.
Messages carry the same reason codes as ``harness.webhooks.policy``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from harness.errors import InputError
from harness.kube.labels import PLATFORM_DOMAIN, TENANT_LABEL, managed_labels
from harness.webhooks.policy import EXEMPT_LABEL

VALIDATING_WEBHOOK = f"validate.pods.{PLATFORM_DOMAIN}"
MUTATING_WEBHOOK = f"mutate.pods.{PLATFORM_DOMAIN}"
DEFAULT_NAME = "spin-platform-pods"
DEFAULT_POLICY_NAME = "spin-platform-host-isolation"
#: Who may exempt a pod with the exempt label (see the module docstring): the break-glass group,
#: and the group of the admin kubeconfig kubeadm writes since 1.29 (no longer system:masters).
DEFAULT_EXEMPT_GROUPS = ("system:masters", "kubeadm:cluster-admins")


class WebhookEndpoint(Protocol):
    """What a registration needs from a server: how the apiserver reaches one of its endpoints.

    ``WebhookServer`` (on the host) answers with a URL, ``ServiceEndpoint`` (pods in the
    cluster) with a Service reference; both carry the CA bundle.
    """

    def client_config(self, path: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ServiceEndpoint:
    """A webhook served by pods behind a Service, as the apiserver dials it (``<name>.<namespace>.svc``)."""

    namespace: str
    name: str
    ca_bundle: bytes
    port: int = 443

    def client_config(self, path: str) -> dict[str, Any]:
        return {
            "service": {"namespace": self.namespace, "name": self.name, "path": path, "port": self.port},
            "caBundle": base64.b64encode(self.ca_bundle).decode(),
        }


def tenant_namespace_selector() -> dict[str, Any]:
    """Namespaces that carry the tenant label, whatever the tenant."""
    return {"matchExpressions": [{"key": TENANT_LABEL, "operator": "Exists"}]}


def _cel_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid CEL string literal


def exempt_condition(exempt_groups: Sequence[str] = DEFAULT_EXEMPT_GROUPS) -> dict[str, str]:
    """The matchCondition that is false (webhook skipped) for exempt pods."""
    labels = "object.metadata.labels"
    key = _cel_string(EXEMPT_LABEL)
    exempt = f"has({labels}) && {key} in {labels} && {labels}[{key}] == 'true'"
    if exempt_groups:
        allowed = "[" + ", ".join(_cel_string(g) for g in exempt_groups) + "]"
        exempt += f" && has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in {allowed})"
    return {"name": "not-exempt", "expression": f"!({exempt})"}


def _webhook(
    name: str,
    client_config: dict[str, Any],
    *,
    operations: list[str],
    resources: list[str],
    failure_policy: str,
    timeout_seconds: int,
    namespace_selector: dict[str, Any],
    conditions: list[dict[str, str]],
    side_effects: str,
) -> dict[str, Any]:
    hook: dict[str, Any] = {
        "name": name,
        "clientConfig": client_config,
        "rules": [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": operations,
                "resources": resources,
                "scope": "Namespaced",
            }
        ],
        "failurePolicy": failure_policy,
        "matchPolicy": "Equivalent",
        "sideEffects": side_effects,
        "timeoutSeconds": timeout_seconds,
        "admissionReviewVersions": ["v1"],
        "namespaceSelector": namespace_selector,
    }
    if conditions:
        hook["matchConditions"] = conditions
    return hook


def registration_manifests(
    server: WebhookEndpoint,
    *,
    name: str = DEFAULT_NAME,
    failure_policy: str = "Fail",
    timeout_seconds: int = 5,
    namespace_selector: dict[str, Any] | None = None,
    match_conditions: bool = True,
    side_effects: str = "None",
    exempt_groups: Sequence[str] = DEFAULT_EXEMPT_GROUPS,
    webhook_names: tuple[str, str] = (VALIDATING_WEBHOOK, MUTATING_WEBHOOK),
) -> list[dict[str, Any]]:
    """A ValidatingWebhookConfiguration and a MutatingWebhookConfiguration named ``name``.

    ``webhook_names`` (validating, mutating) name the webhooks inside them, which is what the
    apiserver's refusals quote: a second registration of the same policy (the in-cluster
    deployment next to the host's server) gives its own so a refusal says which one refused.

    Validation covers pod CREATE and UPDATE, including ``pods/ephemeralcontainers`` (a debug
    container could otherwise be privileged); mutation only pod CREATE, since a running pod's
    spec cannot be patched. The mutation is idempotent, so ``reinvocationPolicy: IfNeeded``
    is safe and keeps the platform labels when a later webhook changes the pod.
    """
    if failure_policy not in ("Fail", "Ignore"):
        raise InputError(f"failure_policy {failure_policy!r}", hint="use Fail or Ignore")
    if not 1 <= timeout_seconds <= 30:
        raise InputError(f"timeout_seconds {timeout_seconds}", hint="the apiserver accepts 1 to 30")
    if side_effects not in ("None", "NoneOnDryRun"):
        raise InputError(f"side_effects {side_effects!r}", hint="admissionregistration/v1 accepts None or NoneOnDryRun")
    selector = namespace_selector if namespace_selector is not None else tenant_namespace_selector()
    conditions = [exempt_condition(exempt_groups)] if match_conditions else []
    common: dict[str, Any] = {
        "failure_policy": failure_policy,
        "timeout_seconds": timeout_seconds,
        "namespace_selector": selector,
        "conditions": conditions,
        "side_effects": side_effects,
    }
    labels = managed_labels()
    validating = _webhook(
        webhook_names[0],
        server.client_config("/validate"),
        operations=["CREATE", "UPDATE"],
        resources=["pods", "pods/ephemeralcontainers"],
        **common,
    )
    mutating = _webhook(
        webhook_names[1],
        server.client_config("/mutate"),
        operations=["CREATE"],
        resources=["pods"],
        **common,
    )
    mutating["reinvocationPolicy"] = "IfNeeded"
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name, "labels": labels},
            "webhooks": [validating],
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": name, "labels": labels},
            "webhooks": [mutating],
        },
    ]


def _not_privileged(containers: str) -> str:
    each = "!has(c.securityContext) || !has(c.securityContext.privileged) || !c.securityContext.privileged"
    return f"!has({containers}) || {containers}.all(c, {each})"


def _host_isolation_validations(policy_name: str) -> list[dict[str, str]]:
    suffix = f"(ValidatingAdmissionPolicy {policy_name})"
    checks = [
        ("hostNetwork", "host-network"),
        ("hostPID", "host-pid"),
        ("hostIPC", "host-ipc"),
    ]
    validations = [
        {
            "expression": f"!has(object.spec.{field}) || !object.spec.{field}",
            "message": f"[{code}] spec.{field}: {field} is not allowed for tenant pods {suffix}",
            "reason": "Forbidden",
        }
        for field, code in checks
    ]
    # Separate expressions: Container and EphemeralContainer lists have different CEL types.
    for kind in ("containers", "initContainers", "ephemeralContainers"):
        validations.append(
            {
                "expression": _not_privileged(f"object.spec.{kind}"),
                "message": f"[privileged] spec.{kind}: privileged containers are not allowed {suffix}",
                "reason": "Forbidden",
            }
        )
    return validations


def validating_admission_policy_manifests(
    *,
    name: str = DEFAULT_POLICY_NAME,
    namespace_selector: dict[str, Any] | None = None,
    validation_actions: Sequence[str] = ("Deny",),
) -> list[dict[str, Any]]:
    """A ValidatingAdmissionPolicy and its Binding, both named ``name``, for tenant namespaces.

    ``validation_actions`` may be ``("Warn",)`` or ``("Audit",)`` to roll the rule out without
    denying. The selector sits on the binding: the policy says what, the binding says where.
    """
    selector = namespace_selector if namespace_selector is not None else tenant_namespace_selector()
    labels = managed_labels()
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["pods", "pods/ephemeralcontainers"],
                    }
                ]
            },
            "validations": _host_isolation_validations(name),
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "policyName": name,
            "validationActions": list(validation_actions),
            "matchResources": {"namespaceSelector": selector},
        },
    }
    return [policy, binding]
