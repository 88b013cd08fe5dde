"""Properties of the admission policy oracle over generated pods.

The example tests pin each rule; these check what must hold for *every* pod: the oracle
never raises, whatever arrives; its patch always applies, is idempotent, touches only what the
platform owns and never changes the verdict; and its hostPath decision agrees with an
independent reading of the path by ``pathlib``.
"""

from __future__ import annotations

import copy
from pathlib import PurePosixPath
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.webhooks.policy import (
    GLOBAL_FS_NODE_LABEL,
    TENANT_LABEL,
    USES_GLOBAL_FS_LABEL,
    Tenant,
    mutate_pod,
    validate_pod,
)
from tests.unit.test_webhook_policy import apply_patch

SETTINGS = settings(max_examples=200, deadline=None)
UID, GID = 51001, 51001
ROOT = "/global/cfs/projects/alpha"
ALPHA = Tenant("alpha", UID, GID, ROOT)
TENANTS = st.sampled_from([ALPHA, Tenant(), Tenant("beta", 52000, None, "/global/cfs/projects/beta")])
KNOWN_CODES = {
    "privileged",
    "host-network",
    "host-pid",
    "host-ipc",
    "hostpath-not-absolute",
    "hostpath-traversal",
    "hostpath-outside-global-fs",
    "hostpath-subpath-expr",
    "readonly-area-writable",
    "tenant-identity-unknown",
    "run-as-user-mismatch",
    "run-as-group-mismatch",
    "supplemental-groups-foreign",
    "run-as-non-root-false",
    "privilege-escalation-allowed",
    "capabilities-not-dropped",
}

# ---------------------------------------------------------------------------------------------
# Strategies

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=20,
)
SEGMENTS = ["global", "cfs", "projects", "alpha", "alphabet", "beta", "readonly", "..", ".", "", "x"]
segments = st.lists(st.sampled_from(SEGMENTS), max_size=6)


@st.composite
def any_host_paths(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["", "/", "//", ROOT, f"{ROOT}/", "/global/cfs/projects"]))
    return prefix + "/".join(draw(segments))


#: Paths inside the root (the interesting case for the mutation and the read-only area) half the time.
host_paths = st.one_of(
    st.lists(st.sampled_from(["work", "readonly", "x", ".", ""]), max_size=3).map(
        lambda parts: "/".join([ROOT, *parts])
    ),
    any_host_paths(),
)
COMPLIANT = {
    "runAsUser": UID,
    "runAsGroup": GID,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}


def maybe(draw: st.DrawFn, strategy: st.SearchStrategy[Any]) -> Any:
    return draw(strategy) if draw(st.booleans()) else None


@st.composite
def security_contexts(draw: st.DrawFn) -> dict[str, Any] | None:
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return None
    if choice in (1, 2):
        return dict(COMPLIANT)
    context: dict[str, Any] = {}
    for key, values in (
        ("runAsUser", st.sampled_from([UID, 0, 1000])),
        ("runAsGroup", st.sampled_from([GID, 0])),
        ("runAsNonRoot", st.booleans()),
        ("allowPrivilegeEscalation", st.booleans()),
        ("privileged", st.booleans()),
        ("capabilities", st.sampled_from([{"drop": ["ALL"]}, {"drop": []}, {"add": ["NET_ADMIN"]}])),
        ("seccompProfile", st.sampled_from([{"type": "RuntimeDefault"}, {"type": "Unconfined"}])),
    ):
        value = maybe(draw, values)
        if value is not None:
            context[key] = value
    return context


@st.composite
def containers(draw: st.DrawFn, volume_names: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"name": draw(st.sampled_from(["app", "side", "init"])), "image": "x"}
    security = draw(security_contexts())
    if security is not None:
        body["securityContext"] = security
    mounts = []
    for name in draw(st.lists(st.sampled_from(volume_names), max_size=2)) if volume_names else []:
        mount: dict[str, Any] = {"name": name, "mountPath": "/m"}
        if draw(st.booleans()):
            mount["readOnly"] = draw(st.booleans())
        if draw(st.integers(0, 3)) == 0:
            mount["subPath"] = draw(st.sampled_from(["readonly", "readonly/d", "work", "../beta", ""]))
        if draw(st.integers(0, 9)) == 0:
            mount["subPathExpr"] = "$(POD_NAME)"
        mounts.append(mount)
    if mounts:
        body["volumeMounts"] = mounts
    return body


@st.composite
def affinities(draw: st.DrawFn) -> dict[str, Any] | None:
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return None
    if choice == 1:
        return {}
    term = st.sampled_from(
        [
            {},
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n"]}]},
            {"matchExpressions": [{"key": GLOBAL_FS_NODE_LABEL, "operator": "In", "values": ["mounted"]}]},
        ]
    )
    required = {"nodeSelectorTerms": draw(st.lists(term, max_size=3))} if draw(st.booleans()) else {}
    node: dict[str, Any] = {"requiredDuringSchedulingIgnoredDuringExecution": required}
    if draw(st.booleans()):
        node["preferredDuringSchedulingIgnoredDuringExecution"] = [{"weight": 1, "preference": {}}]
    return {"nodeAffinity": node} if choice == 2 else {"nodeAffinity": node, "podAffinity": {}}


@st.composite
def pods(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(0, 2))
    volumes = [{"name": f"v{i}", "hostPath": {"path": draw(host_paths)}} for i in range(count)]
    if draw(st.booleans()):
        volumes.append({"name": "scratch", "emptyDir": {}})
    names = [str(v["name"]) for v in volumes]
    spec: dict[str, Any] = {"containers": draw(st.lists(containers(names), min_size=1, max_size=2))}
    for kind in ("initContainers", "ephemeralContainers"):
        if draw(st.integers(0, 3)) == 0:
            spec[kind] = draw(st.lists(containers(names), min_size=1, max_size=1))
    if volumes:
        spec["volumes"] = volumes
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if draw(st.integers(0, 4)) == 0:
            spec[key] = draw(st.booleans())
    pod_security = draw(security_contexts())
    if pod_security is not None:
        pod_security.pop("privileged", None)  # not a pod-level field
        spec["securityContext"] = pod_security
    affinity = draw(affinities())
    if affinity is not None:
        spec["affinity"] = affinity
    if draw(st.integers(0, 5)) == 0:
        spec["os"] = {"name": "windows"}
    metadata: dict[str, Any] = {"name": "p"}
    labels = draw(st.sampled_from([None, {}, {"app": "web"}, {TENANT_LABEL: "beta", "a/b~c": "d"}]))
    if labels is not None:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


# ---------------------------------------------------------------------------------------------
# Properties


@SETTINGS
@given(json_values, json_values, TENANTS)
def test_no_input_makes_the_oracle_raise(metadata: Any, spec: Any, tenant: Tenant) -> None:
    for pod in ({"metadata": metadata, "spec": spec}, {"spec": {"containers": spec, "volumes": metadata}}):
        decision = validate_pod(pod, tenant)
        assert set(decision.codes) <= KNOWN_CODES
        assert isinstance(mutate_pod(pod, tenant), list)


@SETTINGS
@given(pods(), TENANTS)
def test_the_patch_applies_is_idempotent_and_keeps_the_verdict(pod: dict[str, Any], tenant: Tenant) -> None:
    before = copy.deepcopy(pod)
    patch = mutate_pod(pod, tenant)
    assert pod == before, "mutate_pod must not modify its input"
    assert all(op["op"] == "add" for op in patch)
    patched = apply_patch(pod, patch)
    assert mutate_pod(patched, tenant) == []
    assert validate_pod(patched, tenant) == validate_pod(pod, tenant)


@SETTINGS
@given(pods(), TENANTS)
def test_the_patch_touches_only_what_the_platform_owns(pod: dict[str, Any], tenant: Tenant) -> None:
    patched = apply_patch(pod, mutate_pod(pod, tenant))
    for key in ("containers", "initContainers", "ephemeralContainers", "volumes", "hostNetwork", "os"):
        assert patched["spec"].get(key) == pod["spec"].get(key)
    before = {k: v for k, v in (pod["spec"].get("securityContext") or {}).items() if k != "seccompProfile"}
    after = {k: v for k, v in (patched["spec"].get("securityContext") or {}).items() if k != "seccompProfile"}
    assert before == after
    labels = patched["metadata"].get("labels") or {}
    old = pod["metadata"].get("labels") or {}
    assert {k: v for k, v in labels.items() if k not in (TENANT_LABEL, USES_GLOBAL_FS_LABEL)} == {
        k: v for k, v in old.items() if k not in (TENANT_LABEL, USES_GLOBAL_FS_LABEL)
    }
    if tenant.name:
        assert labels[TENANT_LABEL] == tenant.name
    if pod["spec"].get("os") != {"name": "windows"}:
        assert (patched["spec"].get("securityContext") or {}).get("seccompProfile") is not None


@SETTINGS
@given(pods())
def test_global_fs_pods_can_only_land_on_global_fs_nodes(pod: dict[str, Any]) -> None:
    patched = apply_patch(pod, mutate_pod(pod, ALPHA))
    if patched["metadata"].get("labels", {}).get(USES_GLOBAL_FS_LABEL) != "true":
        return
    required = patched["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    requirement = {"key": GLOBAL_FS_NODE_LABEL, "operator": "In", "values": ["mounted"]}
    for term in required["nodeSelectorTerms"]:
        if term.get("matchExpressions") or term.get("matchFields"):
            assert requirement in term["matchExpressions"], "a term that matches nodes without the global fs"


@SETTINGS
@given(host_paths)
def test_the_hostpath_verdict_agrees_with_pathlib(path: str) -> None:
    pod = {"spec": {"containers": [], "volumes": [{"name": "v", "hostPath": {"path": path}}]}}
    codes = set(validate_pod(pod, ALPHA).codes)
    if not path.startswith("/"):
        expected = "hostpath-not-absolute"
    elif ".." in path.split("/"):
        expected = "hostpath-traversal"
    elif PurePosixPath("/" + path.lstrip("/")).is_relative_to(ROOT):
        expected = None
    else:
        expected = "hostpath-outside-global-fs"
    hostpath_codes = {c for c in codes if c.startswith("hostpath-")}
    assert hostpath_codes == ({expected} if expected else set()), path


@SETTINGS
@given(pods(), TENANTS)
def test_privileged_anywhere_is_always_denied(pod: dict[str, Any], tenant: Tenant) -> None:
    privileged = any(
        (c.get("securityContext") or {}).get("privileged") is True
        for kind in ("containers", "initContainers", "ephemeralContainers")
        for c in pod["spec"].get(kind, [])
    )
    decision = validate_pod(pod, tenant)
    assert ("privileged" in decision.codes) == privileged
    assert decision.allowed == (not decision.reasons)
