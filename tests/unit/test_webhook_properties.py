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
from tests.pod_strategies import GID, ROOT, UID, host_paths, pods
from tests.unit.test_webhook_policy import apply_patch

SETTINGS = settings(max_examples=200, deadline=None)
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
# Strategies (pods and host paths come from tests.pod_strategies)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=20,
)


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
@given(host_paths())
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
