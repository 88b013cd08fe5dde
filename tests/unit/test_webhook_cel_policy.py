"""The CEL twin of the pod policy is well-formed before any apiserver sees it.

The apiserver compiles it (``tests/e2e/test_webhook_cel_oracle.py``); these checks catch what
a template slip would break and name the rule: every reason code of the Python policy has a
validation whose messages carry that code, every ``variables.X`` is defined before use, every
expression's brackets and quotes are balanced, and scope and exemption are the webhook's.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from harness.webhooks.cel_policy import binding_manifest, cel_policy_manifests, rules, variables
from harness.webhooks.manifests import registration_manifests, tenant_namespace_selector
from harness.webhooks.policy import Tenant, validate_pod
from tests.pod_strategies import COMPLIANT, GID, ROOT, UID
from tests.unit.test_webhook_properties import KNOWN_CODES

ALPHA = Tenant("alpha", UID, GID, ROOT)
CODE = re.compile(r'^"?\[([a-z-]+)\] ')
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def host_path_pod(path: str = f"{ROOT}/work", **container: Any) -> dict[str, Any]:
    body = {"name": "app", "securityContext": dict(COMPLIANT), **container}
    return {"spec": {"containers": [body], "volumes": [{"name": "v", "hostPath": {"path": path}}]}}


def mount(**fields: Any) -> list[dict[str, Any]]:
    return [{"name": "v", "mountPath": "/m", **fields}]


#: One pod (and tenant) per reason code, so the codes below are the Python policy's own.
EXAMPLES: dict[str, tuple[dict[str, Any], Tenant]] = {
    "privileged": ({"spec": {"containers": [{"securityContext": {"privileged": True}}]}}, ALPHA),
    "host-network": ({"spec": {"hostNetwork": True}}, ALPHA),
    "host-pid": ({"spec": {"hostPID": True}}, ALPHA),
    "host-ipc": ({"spec": {"hostIPC": True}}, ALPHA),
    "hostpath-not-absolute": (host_path_pod("global"), ALPHA),
    "hostpath-traversal": (host_path_pod(f"{ROOT}/../beta"), ALPHA),
    "hostpath-outside-global-fs": (host_path_pod("/etc"), ALPHA),
    "hostpath-subpath-expr": (host_path_pod(volumeMounts=mount(subPathExpr="$(POD)")), ALPHA),
    "readonly-area-writable": (host_path_pod(ROOT, volumeMounts=mount(subPath="readonly/data")), ALPHA),
    "tenant-identity-unknown": (host_path_pod(), Tenant("alpha", UID, None, ROOT)),
    "run-as-user-mismatch": (host_path_pod(securityContext={**COMPLIANT, "runAsUser": 0}), ALPHA),
    "run-as-group-mismatch": (host_path_pod(securityContext={**COMPLIANT, "runAsGroup": 0}), ALPHA),
    "run-as-non-root-false": (host_path_pod(securityContext={**COMPLIANT, "runAsNonRoot": False}), ALPHA),
    "privilege-escalation-allowed": (
        host_path_pod(securityContext={**COMPLIANT, "allowPrivilegeEscalation": True}),
        ALPHA,
    ),
    "capabilities-not-dropped": (host_path_pod(securityContext={**COMPLIANT, "capabilities": {}}), ALPHA),
}


def supplemental_groups_example() -> dict[str, Any]:
    pod = host_path_pod()
    pod["spec"]["securityContext"] = {"fsGroup": 0}
    return pod


EXAMPLES["supplemental-groups-foreign"] = (supplemental_groups_example(), ALPHA)


def policy_spec() -> dict[str, Any]:
    policy, _ = cel_policy_manifests()
    spec: dict[str, Any] = policy["spec"]
    return spec


def test_the_examples_give_every_reason_code_of_the_python_policy() -> None:
    for code, (pod, tenant) in EXAMPLES.items():
        assert code in validate_pod(pod, tenant).codes, code
    assert set(EXAMPLES) == KNOWN_CODES


def test_every_reason_code_has_a_cel_validation_and_nothing_else_does() -> None:
    validations = policy_spec()["validations"]
    codes = [CODE.match(v["message"]).group(1) for v in validations]  # type: ignore[union-attr]
    assert set(codes) == KNOWN_CODES
    duplicated = sorted({c for c in codes if codes.count(c) > 1})
    assert duplicated == ["hostpath-traversal"], "one validation per code, but hostPath and subPath for traversal"
    assert [r.code for r in rules()] == codes


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r.code + ":" + r.where)
def test_both_messages_start_with_the_code_and_fit_on_one_line(rule: Any) -> None:
    validation = rule.validation()
    assert validation["reason"] == "Forbidden"
    assert CODE.match(validation["message"]).group(1) == rule.code  # type: ignore[union-attr]
    assert "\n" not in validation["message"] and len(validation["message"]) < 200
    if "messageExpression" in validation:
        assert CODE.match(validation["messageExpression"]).group(1) == rule.code  # type: ignore[union-attr]


def referenced(expression: str) -> set[str]:
    return set(re.findall(r"\bvariables\.([A-Za-z_][A-Za-z0-9_]*)", expression))


def test_variables_are_valid_identifiers_defined_before_use_and_all_used() -> None:
    spec = policy_spec()
    defined: list[str] = []
    for variable in spec["variables"]:
        assert IDENTIFIER.match(variable["name"]), variable["name"]
        unknown = referenced(variable["expression"]) - set(defined)
        assert not unknown, f"variable {variable['name']} uses {unknown} before they are defined"
        defined.append(variable["name"])
    assert len(defined) == len(set(defined))
    used: set[str] = set()
    for text in [v["expression"] for v in spec["variables"]] + [
        v[key] for v in spec["validations"] for key in ("expression", "messageExpression") if key in v
    ]:
        used |= referenced(text)
    assert used <= set(defined)
    assert set(defined) - used == set(), "every variable is used"


def unbalanced(expression: str) -> str | None:
    """What is wrong with the brackets and string literals of ``expression``, or None."""
    closing = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for char in expression:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "([{":
            stack.append(char)
        elif char in closing and (not stack or stack.pop() != closing[char]):
            return f"unexpected {char!r}"
    if quote:
        return f"unterminated {quote} string"
    return f"unclosed {stack[-1]!r}" if stack else None


def test_every_expression_is_balanced() -> None:
    spec = policy_spec()
    texts = [v["expression"] for v in spec["variables"] + spec["validations"] + spec["matchConditions"]]
    texts += [v["messageExpression"] for v in spec["validations"] if "messageExpression" in v]
    assert all(texts)
    problems = {text[:80]: unbalanced(text) for text in texts if unbalanced(text)}
    assert not problems
    assert unbalanced("f(a, [b)") == "unexpected ')'" and unbalanced("'a") == "unterminated ' string"


def test_the_policy_reads_the_tenant_from_the_namespace_object() -> None:
    names = {v["name"]: v["expression"] for v in variables()}
    for name in ("uidText", "gidText", "rootText"):
        assert names[name].startswith("namespaceObject.metadata.?annotations[?")
    assert "namespaceObject" not in " ".join(v["expression"] for v in policy_spec()["validations"])


class Endpoint:
    def client_config(self, path: str) -> dict[str, Any]:
        return {"url": f"https://127.0.0.1:1{path}", "caBundle": ""}


def test_scope_and_exemption_are_the_webhook_registrations() -> None:
    validating = registration_manifests(Endpoint())[0]["webhooks"][0]
    spec = policy_spec()
    rule = spec["matchConstraints"]["resourceRules"][0]
    webhook_rule = validating["rules"][0]
    for key in ("apiGroups", "apiVersions", "operations", "resources"):
        assert rule[key] == webhook_rule[key], key
    assert spec["matchConditions"] == validating["matchConditions"]
    assert spec["failurePolicy"] == "Fail"
    policy, binding = cel_policy_manifests(match_conditions=False)
    assert "matchConditions" not in policy["spec"]
    assert binding["spec"]["matchResources"]["namespaceSelector"] == tenant_namespace_selector()


def test_bindings_say_where_and_what_a_failure_does() -> None:
    policy, binding = cel_policy_manifests(name="p", validation_actions=("Warn",))
    assert (policy["metadata"]["name"], binding["metadata"]["name"], binding["spec"]["policyName"]) == ("p",) * 3
    assert binding["spec"]["validationActions"] == ["Warn"]
    selector = {"matchLabels": {"kubernetes.io/metadata.name": "ns"}}
    warn = binding_manifest("p", name="p-warn", namespace_selector=selector, validation_actions=("Warn",))
    assert warn["metadata"]["name"] == "p-warn" and warn["spec"]["policyName"] == "p"
    assert warn["spec"]["matchResources"]["namespaceSelector"] == selector
