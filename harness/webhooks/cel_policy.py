"""The platform's pod policy written a second time, in CEL, for the apiserver to evaluate.

``harness.webhooks.policy`` decides in the admission webhook; a test comparing the webhook
with the functions it calls cannot fail. So every validation rule of that policy is stated
here again, independently, as a ValidatingAdmissionPolicy that the real apiserver evaluates,
and ``tests/e2e/test_webhook_cel_oracle.py`` holds the webhook's decisions against it on
generated pods. It is a usable policy too: it keeps denying while the webhook is down.

The tenant comes from ``namespaceObject`` (CEL gets the Namespace; the webhook must look it
up). ``variables`` parse it once, with the Python policy's meaning: an ID is 1 to 10 decimal
digits after trimming whitespace, from 1 to 2^31-1 (0 stands for "absent or invalid"); a
global-fs root is absolute, has no ``..`` segment and is not ``/`` once normalised ("" for
none). Paths are normalised without a path library: split on ``/``, drop empty and ``.``
segments, join behind a leading ``/``; "within" is ``p == root || p.startsWith(root + '/')``
on normalised paths, i.e. by segments (``/a/alphabet`` is not within ``/a/alpha``).

One validation per reason code (the subPath half of ``hostpath-traversal`` is a second one),
whose message starts with the code in brackets and whose ``messageExpression`` names the
offending containers, mounts or volumes, so a disagreement can be told rule by rule. The
apiserver's denial quotes the first failing validation only; a second binding with
``validationActions: [Warn]`` returns every failing one as a warning. ``containers``,
``initContainers`` and ``ephemeralContainers`` have different types in the Pod schema, so
container rules check the three lists one by one; mounts are first copied into maps of
strings (``hostPathMounts``), which are of one type whatever the container kind.

Cost: each expression walks containers, mounts and hostPath volumes a fixed number of times,
mounts times volumes at worst. Measured on v1.36.3: 30 containers mounting 40 hostPath volumes
each stay within the per-expression runtime limit (1e6), 40 containers mounting 60 do not and
are denied with a cost error (``failurePolicy: Fail``), never admitted. The libraries used
(strings ``split``/``join``/``trim``, optional ``?.``/``orValue``, ``matches``) are in every
Kubernetes version the harness supports.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.webhooks.manifests import DEFAULT_EXEMPT_GROUPS, exempt_condition, tenant_namespace_selector
from harness.webhooks.policy import (
    CONTAINER_KINDS,
    GID_ANNOTATION,
    GLOBAL_FS_ANNOTATION,
    READONLY_DIR,
    UID_ANNOTATION,
)

DEFAULT_CEL_POLICY_NAME = "spin-platform-pod-policy"
MANAGED_BY = {"app.kubernetes.io/managed-by": "spin-harness"}
_MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Rule:
    """One validation: pods pass when ``expression`` is true; ``detail`` (CEL) says who failed."""

    code: str
    where: str
    expression: str
    text: str
    detail: str = ""

    def validation(self) -> dict[str, str]:
        head = f"[{self.code}] {self.where}: "
        found: dict[str, str] = {
            "expression": self.expression,
            "message": head + self.text,
            "reason": "Forbidden",
        }
        if self.detail:
            found["messageExpression"] = f"{_cel(head)} + {self.detail} + {_cel(': ' + self.text)}"
        return found


def _cel(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid CEL string literal


# -- path building blocks (CEL text) ----------------------------------------------------


def _segments(path: str) -> str:
    """The non-empty, non-``.`` segments of ``path``, a list of strings."""
    return f"{path}.split('/').filter(s, s != '' && s != '.')"


def _traversal(path: str) -> str:
    return f"{path}.split('/').exists(s, s == '..')"


def _within(path: str, root: str) -> str:
    """Normalised ``path`` is ``root`` or below it, segment by segment."""
    return f"(({path}) == {root} || ({path}).startsWith({root} + '/'))"


def _leaves(sub_path: str) -> str:
    """A subPath that is absolute or has a ``..`` segment (the volume's root is left)."""
    return f"({sub_path}.startsWith('/') || {_traversal(sub_path)})"


def _mounts_of_host_paths(kind: str) -> str:
    """Per container of ``kind``: its mounts of hostPath volumes, as maps of strings.

    Strings only, so that the lists of all three container kinds have one type and can be
    joined (their own types differ in the Pod schema). ``effective`` is the normalised host
    path the mount lands on, "" when the volume's path or the subPath is rejected anyway;
    ``join('')`` picks the one volume of that name (names are unique in any pod the
    apiserver accepts).
    """
    sub = "m.?subPath.orValue('')"
    landing = "'/' + (v.normal.split('/') + " + sub + ".split('/')).filter(s, s != '' && s != '.').join('/')"
    effective = (
        f"{_leaves(sub)} ? '' : "
        f"variables.hostPaths.filter(v, v.name == m.name && v.normal != '').map(v, {landing}).join('')"
    )
    fields = _strings(
        container=f"'{kind} ' + c.name",
        volume="m.name",
        subPath=sub,
        subPathExpr="m.?subPathExpr.orValue('')",
        readOnly="m.?readOnly.orValue(false) ? 'true' : 'false'",
        effective=effective,
    )
    return (
        f"object.spec.?{kind}.orValue([]).map(c, c.?volumeMounts.orValue([])"
        f".filter(m, m.name in variables.hostPathNames).map(m, {fields}))"
    )


def _strings(**fields: str) -> str:
    """A CEL map literal of strings; ``string()`` types each value, which is ``dyn`` when read from the pod."""
    return "{" + ", ".join(f"'{key}': string({value})" for key, value in fields.items()) + "}"


def _annotation(key: str) -> str:
    return f"namespaceObject.metadata.?annotations[?{_cel(key)}].orValue('')"


def _tenant_id(text: str) -> str:
    number = f"int(variables.{text})"
    valid = f"variables.{text}.matches('^[0-9]{{1,10}}$') && {number} >= 1 && {number} <= {_MAX_ID}"
    return f"{valid} ? {number} : 0"


def variables() -> list[dict[str, str]]:
    """The tenant and the pod's hostPath volumes, named once for every rule."""
    root = "variables.rootText"
    normal_path = "'/' + " + _segments("v.hostPath.?path.orValue('')") + ".join('/')"
    valid_path = "v.hostPath.?path.orValue('').startsWith('/') && !" + _traversal("v.hostPath.?path.orValue('')")
    pod = "object.spec.?securityContext"
    named = [
        ("uidText", _annotation(UID_ANNOTATION) + ".trim()"),
        ("tenantUid", _tenant_id("uidText")),
        ("gidText", _annotation(GID_ANNOTATION) + ".trim()"),
        ("tenantGid", _tenant_id("gidText")),
        ("rootText", _annotation(GLOBAL_FS_ANNOTATION)),
        (
            "root",
            f"{root}.startsWith('/') && !{_traversal(root)} && size({_segments(root)}) > 0"
            f" ? '/' + {_segments(root)}.join('/') : ''",
        ),
        ("readonlyArea", f"variables.root == '' ? '' : variables.root + '/{READONLY_DIR}'"),
        (
            "hostPaths",
            "object.spec.?volumes.orValue([]).filter(v, has(v.hostPath)).map(v, "
            + _strings(name="v.name", path="v.hostPath.?path.orValue('')", normal=f"{valid_path} ? {normal_path} : ''")
            + ")",
        ),
        ("hostPathNames", "variables.hostPaths.map(v, v.name)"),
        ("usesHostPath", "size(variables.hostPaths) > 0"),
        ("hostPathMounts", " + ".join(_mounts_of_host_paths(k) for k in CONTAINER_KINDS)),
        ("podRunAsUser", f"{pod}.?runAsUser.orValue(0)"),
        ("podRunAsGroup", f"{pod}.?runAsGroup.orValue(0)"),
        ("podRunAsNonRoot", f"{pod}.?runAsNonRoot.orValue(true)"),
    ]
    return [{"name": name, "expression": expression} for name, expression in named]


# -- rules -----------------------------------------------------------------------------


def _host_isolation_rules() -> list[Rule]:
    namespaces = [
        Rule(code, f"spec.{field}", f"!object.spec.?{field}.orValue(false)", "not allowed for tenant pods")
        for field, code in (("hostNetwork", "host-network"), ("hostPID", "host-pid"), ("hostIPC", "host-ipc"))
    ]
    privileged = "!c.?securityContext.?privileged.orValue(false)"
    return [*namespaces, _per_container("privileged", "securityContext.privileged", privileged, "not allowed")]


def _per_container(code: str, field: str, ok: str, text: str, gate: str = "") -> Rule:
    """``ok`` (over container ``c``) must hold for every container of every kind.

    One validation per rule, so a failing pod yields one message per reason code; the
    container lists are checked one by one because their types differ in the Pod schema.
    """
    each = [f"object.spec.?{kind}.orValue([])" for kind in CONTAINER_KINDS]
    check = " && ".join(f"{items}.all(c, {ok})" for items in each)
    who = " + ".join(
        f"{items}.filter(c, !({ok})).map(c, '{kind} ' + c.name)"
        for kind, items in zip(CONTAINER_KINDS, each, strict=True)
    )
    return Rule(
        code,
        f"spec.*containers[*].{field}",
        f"{gate} || ({check})" if gate else check,
        text,
        f"({who}).join(', ')",
    )


def _host_path_rules() -> list[Rule]:
    each = "variables.hostPaths"
    outside = f"v.normal != '' && (variables.root == '' || !{_within('v.normal', 'variables.root')})"
    names = ".map(v, v.name + ' (' + v.path + ')').join(', ')"
    return [
        Rule(
            "hostpath-not-absolute",
            "spec.volumes[*].hostPath.path",
            f"{each}.all(v, v.path.startsWith('/'))",
            "not an absolute path",
            f"{each}.filter(v, !v.path.startsWith('/')){names}",
        ),
        Rule(
            "hostpath-traversal",
            "spec.volumes[*].hostPath.path",
            f"{each}.all(v, !v.path.startsWith('/') || !{_traversal('v.path')})",
            "has a '..' segment",
            f"{each}.filter(v, v.path.startsWith('/') && {_traversal('v.path')}){names}",
        ),
        Rule(
            "hostpath-outside-global-fs",
            "spec.volumes[*].hostPath.path",
            f"{each}.all(v, !({outside}))",
            "outside the tenant's global-fs root",
            f"{each}.filter(v, {outside}){names} + ' (root: ' + variables.root + ')'",
        ),
    ]


def _mount_rules() -> list[Rule]:
    """Rules over every mount of a hostPath volume, whatever kind of container makes it."""
    mounts = "variables.hostPathMounts"
    subpath_expr = "m.subPathExpr == ''"
    stays = "!" + _leaves("m.subPath")
    in_area = _within("m.effective", "variables.readonlyArea")
    writable_in_area = f"m.readOnly != 'true' && m.effective != '' && {in_area}"
    return [
        Rule(
            "hostpath-subpath-expr",
            "spec.*containers[*].volumeMounts[*].subPathExpr",
            f"{mounts}.all(ms, ms.all(m, {subpath_expr}))",
            "subPathExpr on a hostPath volume",
            _offending_mounts(subpath_expr),
        ),
        Rule(
            "hostpath-traversal",
            "spec.*containers[*].volumeMounts[*].subPath",
            f"{mounts}.all(ms, ms.all(m, {stays}))",
            "subPath leaves the volume",
            _offending_mounts(stays),
        ),
        Rule(
            "readonly-area-writable",
            "spec.*containers[*].volumeMounts[*].readOnly",
            f"variables.readonlyArea == '' || {mounts}.all(ms, ms.all(m, !({writable_in_area})))",
            "read-only area mounted without readOnly: true",
            _offending_mounts(f"!({writable_in_area})"),
        ),
    ]


def _offending_mounts(ok: str) -> str:
    """CEL naming the mounts for which ``ok`` (over mount ``m``) is false."""
    each = f"ms.filter(m, !({ok})).map(m, m.container + ' mount of ' + m.volume).join(', ')"
    return f"variables.hostPathMounts.map(ms, {each}).filter(t, t != '').join(', ')"


def _identity_rules() -> list[Rule]:
    """Rules for pods with a hostPath volume; a rule that needs an unknown ID is left to the first."""
    gate = "!variables.usesHostPath"
    groups = "object.spec.?securityContext.?supplementalGroups.orValue([])"
    fs_group = "object.spec.?securityContext.?fsGroup"
    foreign_fs_group = f"{fs_group}.orValue(variables.tenantGid) != variables.tenantGid"
    effective = "c.?securityContext.?{key}.orValue(variables.{pod})"
    user = effective.format(key="runAsUser", pod="podRunAsUser")
    group = effective.format(key="runAsGroup", pod="podRunAsGroup")
    non_root = effective.format(key="runAsNonRoot", pod="podRunAsNonRoot")
    return [
        Rule(
            "tenant-identity-unknown",
            "metadata.namespace",
            f"{gate} || (variables.tenantUid != 0 && variables.tenantGid != 0)",
            f"no valid {UID_ANNOTATION} and {GID_ANNOTATION} annotations, no hostPath volumes",
        ),
        Rule(
            "supplemental-groups-foreign",
            "spec.securityContext.supplementalGroups/fsGroup",
            f"{gate} || variables.tenantGid == 0 || "
            f"({groups}.all(g, g == variables.tenantGid) && !({foreign_fs_group}))",
            "only the tenant GID is allowed",
            f"'foreign supplementalGroups [' + {groups}.filter(g, g != variables.tenantGid).map(g, string(g))"
            f".join(', ') + '], fsGroup ' + ({foreign_fs_group} ? string({fs_group}.value()) : 'not foreign')",
        ),
        _per_container(
            "run-as-user-mismatch",
            "securityContext.runAsUser",
            f"{user} == variables.tenantUid",
            "not the tenant UID",
            gate=f"{gate} || variables.tenantUid == 0",
        ),
        _per_container(
            "run-as-group-mismatch",
            "securityContext.runAsGroup",
            f"{group} == variables.tenantGid",
            "not the tenant GID",
            gate=f"{gate} || variables.tenantGid == 0",
        ),
        _per_container(
            "run-as-non-root-false", "securityContext.runAsNonRoot", non_root, "runAsNonRoot: false", gate=gate
        ),
        _per_container(
            "privilege-escalation-allowed",
            "securityContext.allowPrivilegeEscalation",
            "!c.?securityContext.?allowPrivilegeEscalation.orValue(true)",
            "allowPrivilegeEscalation: false is required",
            gate=gate,
        ),
        _per_container(
            "capabilities-not-dropped",
            "securityContext.capabilities.drop",
            "'ALL' in c.?securityContext.?capabilities.?drop.orValue([])",
            "capabilities.drop must contain ALL",
            gate=gate,
        ),
    ]


def rules() -> list[Rule]:
    """Every validation rule of the written policy, in its order."""
    return [*_host_isolation_rules(), *_host_path_rules(), *_mount_rules(), *_identity_rules()]


# -- manifests ---------------------------------------------------------------------------


def binding_manifest(
    policy_name: str,
    *,
    name: str | None = None,
    namespace_selector: dict[str, Any] | None = None,
    validation_actions: Sequence[str] = ("Deny",),
) -> dict[str, Any]:
    """A binding of the policy: where it applies and what a failure does (Deny, Warn, Audit)."""
    selector = namespace_selector if namespace_selector is not None else tenant_namespace_selector()
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name or policy_name, "labels": dict(MANAGED_BY)},
        "spec": {
            "policyName": policy_name,
            "validationActions": list(validation_actions),
            "matchResources": {"namespaceSelector": selector},
        },
    }


def cel_policy_manifests(
    *,
    name: str = DEFAULT_CEL_POLICY_NAME,
    namespace_selector: dict[str, Any] | None = None,
    validation_actions: Sequence[str] = ("Deny",),
    match_conditions: bool = True,
    exempt_groups: Sequence[str] = DEFAULT_EXEMPT_GROUPS,
) -> list[dict[str, Any]]:
    """The ValidatingAdmissionPolicy with every rule, and its binding, both named ``name``.

    Scope and exemption are the webhook registration's (``registration_manifests``): pod
    CREATE and UPDATE including ``pods/ephemeralcontainers``, tenant namespaces unless
    ``namespace_selector`` says otherwise, and the same ``exempt`` match condition.
    """
    pods = {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"]}
    spec: dict[str, Any] = {
        "failurePolicy": "Fail",
        "matchConstraints": {"resourceRules": [{**pods, "resources": ["pods", "pods/ephemeralcontainers"]}]},
        "variables": variables(),
        "validations": [rule.validation() for rule in rules()],
    }
    if match_conditions:
        spec["matchConditions"] = [exempt_condition(exempt_groups)]
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": dict(MANAGED_BY)},
        "spec": spec,
    }
    binding = binding_manifest(name, namespace_selector=namespace_selector, validation_actions=validation_actions)
    return [policy, binding]
