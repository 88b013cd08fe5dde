"""The admission policy oracle and its JSON patch, rule by rule."""

from __future__ import annotations

import copy
import importlib
from typing import Any

import pytest

from harness.tenancy import TENANT_LABEL as DETECTORS_TENANT_LABEL
from harness.webhooks.policy import (
    GID_ANNOTATION,
    GLOBAL_FS_ANNOTATION,
    GLOBAL_FS_NODE_LABEL,
    TENANT_LABEL,
    UID_ANNOTATION,
    USES_GLOBAL_FS_LABEL,
    Decision,
    Reason,
    Tenant,
    collapse_path,
    escape_token,
    is_within,
    mutate_pod,
    pointer,
    validate_pod,
)

UID = 51001
GID = 51002
ROOT = "/global/cfs/projects/alpha"
ALPHA = Tenant("alpha", UID, GID, ROOT)
REQUIREMENT = {"key": GLOBAL_FS_NODE_LABEL, "operator": "In", "values": ["mounted"]}


def _apply_add_only(doc: Any, patch: list[dict[str, Any]]) -> Any:
    """RFC 6902 ``add`` (all ``mutate_pod`` emits), for when ``jsonpatch`` is not installed."""
    doc = copy.deepcopy(doc)
    for op in patch:
        assert op["op"] == "add", op
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in op["path"].split("/")[1:]]
        parent = doc
        for token in tokens[:-1]:
            parent = parent[int(token)] if isinstance(parent, list) else parent[token]
        last = tokens[-1]
        if isinstance(parent, list):
            parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(op["value"]))
        else:
            parent[last] = copy.deepcopy(op["value"])
    return doc


def apply_patch(doc: Any, patch: list[dict[str, Any]]) -> Any:
    try:
        jsonpatch = importlib.import_module("jsonpatch")
    except ImportError:
        return _apply_add_only(doc, patch)
    return jsonpatch.apply_patch(doc, patch)


def container(name: str = "app", **security: Any) -> dict[str, Any]:
    context = {
        "runAsUser": UID,
        "runAsGroup": GID,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    context.update(security)
    return {"name": name, "image": "registry.invalid/app:1", "securityContext": context}


def global_fs_pod(path: str = f"{ROOT}/work", **mount: Any) -> dict[str, Any]:
    app = container()
    app["volumeMounts"] = [{"name": "project", "mountPath": "/project", **mount}]
    return {
        "metadata": {"name": "p", "namespace": "alpha"},
        "spec": {"containers": [app], "volumes": [{"name": "project", "hostPath": {"path": path}}]},
    }


def plain_pod() -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": "x"}]}}


def codes(pod: dict[str, Any], tenant: Tenant = ALPHA) -> tuple[str, ...]:
    return validate_pod(pod, tenant).codes


# -- tenant --------------------------------------------------------------------------


def test_tenant_is_read_from_namespace_labels_and_annotations() -> None:
    tenant = Tenant.from_namespace(
        {TENANT_LABEL: "alpha"},
        {
            UID_ANNOTATION: "51001",
            GID_ANNOTATION: "51002",
            GLOBAL_FS_ANNOTATION: "//global/cfs/projects/alpha/",
        },
    )
    assert tenant == ALPHA
    assert tenant.readonly_root == f"{ROOT}/readonly"
    assert TENANT_LABEL == DETECTORS_TENANT_LABEL, "the webhook and the detectors must agree on the label"


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "", "1e3", "99999999999", "4294967295", "\x1f51001", "51001\x1c"])
def test_invalid_ids_count_as_absent(raw: str) -> None:
    assert Tenant.from_namespace({}, {UID_ANNOTATION: raw}).uid is None


def test_white_space_around_an_id_is_ignored() -> None:
    assert Tenant.from_namespace({}, {UID_ANNOTATION: " \t51001\u00a0"}).uid == 51001


@pytest.mark.parametrize("raw", ["global/cfs/projects/alpha", "/global/cfs/../etc", "/", "//", ""])
def test_invalid_global_fs_roots_count_as_absent(raw: str) -> None:
    assert Tenant.from_namespace({}, {GLOBAL_FS_ANNOTATION: raw}).global_fs_root is None


def test_missing_metadata_gives_an_empty_tenant() -> None:
    assert Tenant.from_namespace(None, None) == Tenant()


# -- paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/a//b/./c/", "/a/b/c"),
        ("//a", "/a"),
        ("/", "/"),
        ("a/./b", "a/b"),
        ("/a/../b", "/a/../b"),
    ],
)
def test_collapse_path_collapses_but_never_resolves_dotdot(raw: str, expected: str) -> None:
    assert collapse_path(raw) == expected


def test_is_within_compares_segments_not_characters() -> None:
    assert is_within(ROOT, ROOT)
    assert is_within(f"{ROOT}/x", ROOT)
    assert not is_within("/global/cfs/projects/alphabet", ROOT)
    assert not is_within("/global/cfs/projects", ROOT)


# -- host isolation ------------------------------------------------------------------


def test_a_plain_pod_is_allowed() -> None:
    decision = validate_pod(plain_pod(), ALPHA)
    assert decision.allowed and decision.reasons == () and decision.message() == ""


@pytest.mark.parametrize("kind", ["containers", "initContainers", "ephemeralContainers"])
def test_privileged_is_denied_in_every_kind_of_container(kind: str) -> None:
    pod = plain_pod()
    pod["spec"][kind] = [*pod["spec"].get(kind, []), {"name": "x", "securityContext": {"privileged": True}}]
    decision = validate_pod(pod, ALPHA)
    assert decision.codes == ("privileged",)
    index = 1 if kind == "containers" else 0
    assert decision.reasons[0].field == f"spec.{kind}[{index}].securityContext.privileged"
    assert "container 'x' is privileged" in decision.message()


@pytest.mark.parametrize("value", [False, None, "true", 1])
def test_only_a_real_true_is_privileged(value: Any) -> None:
    pod = plain_pod()
    pod["spec"]["containers"][0]["securityContext"] = {"privileged": value}
    assert codes(pod) == ()


@pytest.mark.parametrize(
    ("field", "code"), [("hostNetwork", "host-network"), ("hostPID", "host-pid"), ("hostIPC", "host-ipc")]
)
def test_host_namespaces_are_denied(field: str, code: str) -> None:
    pod = plain_pod()
    pod["spec"][field] = True
    assert codes(pod) == (code,)
    pod["spec"][field] = False
    assert codes(pod) == ()


def test_every_violation_is_reported_in_rule_order() -> None:
    pod = plain_pod()
    pod["spec"].update(hostNetwork=True, hostPID=True)
    pod["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    decision = validate_pod(pod, ALPHA)
    assert decision.codes == ("privileged", "host-network", "host-pid")
    assert decision.message().count("; ") == 2
    expected = "[host-network] spec.hostNetwork: hostNetwork is not allowed for tenant pods"
    assert str(decision.reasons[1]) == expected


# -- hostPath ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [ROOT, f"{ROOT}/", f"{ROOT}/work", "//global//cfs/projects/alpha/./work/", f"{ROOT}/readonly-ish/x"],
)
def test_hostpaths_within_the_root_are_allowed(path: str) -> None:
    assert codes(global_fs_pod(path)) == ()


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/etc", "hostpath-outside-global-fs"),
        ("/", "hostpath-outside-global-fs"),
        ("/global/cfs/projects/beta/work", "hostpath-outside-global-fs"),
        ("/global/cfs/projects/alphabet", "hostpath-outside-global-fs"),
        ("/global/cfs/projects", "hostpath-outside-global-fs"),
        (f"{ROOT}/../beta", "hostpath-traversal"),
        (f"{ROOT}/work/../../beta", "hostpath-traversal"),
        (f"{ROOT}/..", "hostpath-traversal"),
        (f"{ROOT}/x/..", "hostpath-traversal"),  # would stay inside, but '..' is never resolved
        ("global/cfs/projects/alpha", "hostpath-not-absolute"),
        ("", "hostpath-not-absolute"),
    ],
)
def test_hostpaths_outside_the_root_are_denied(path: str, code: str) -> None:
    assert codes(global_fs_pod(path)) == (code,)


def test_a_non_string_hostpath_is_denied() -> None:
    pod = global_fs_pod()
    pod["spec"]["volumes"][0]["hostPath"]["path"] = 42
    assert codes(pod) == ("hostpath-not-absolute",)


def test_a_tenant_without_a_root_gets_no_hostpath_at_all() -> None:
    decision = validate_pod(global_fs_pod(), Tenant("alpha", UID, GID, None))
    assert decision.codes == ("hostpath-outside-global-fs",)
    assert GLOBAL_FS_ANNOTATION in decision.message()


def test_subpath_traversal_and_subpath_expr_are_denied() -> None:
    assert codes(global_fs_pod(subPath="../beta")) == ("hostpath-traversal",)
    assert codes(global_fs_pod(subPath="/etc")) == ("hostpath-traversal",)
    assert codes(global_fs_pod(subPathExpr="$(POD_NAME)")) == ("hostpath-subpath-expr",)
    assert codes(global_fs_pod(subPath="work/a")) == ()


# -- read-only area ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "mount"),
    [
        (f"{ROOT}/readonly", {}),
        (f"{ROOT}/readonly/datasets", {}),
        (f"{ROOT}/readonly/datasets", {"readOnly": False}),
        (ROOT, {"subPath": "readonly/datasets"}),
        (ROOT, {"subPath": "./readonly"}),
    ],
)
def test_writable_mounts_of_the_readonly_area_are_denied(path: str, mount: dict[str, Any]) -> None:
    decision = validate_pod(global_fs_pod(path, **mount), ALPHA)
    assert decision.codes == ("readonly-area-writable",)
    assert decision.reasons[0].field == "spec.containers[0].volumeMounts[0].readOnly"


@pytest.mark.parametrize(
    ("path", "mount"),
    [
        (f"{ROOT}/readonly/datasets", {"readOnly": True}),
        (ROOT, {"subPath": "readonly", "readOnly": True}),
        (ROOT, {}),  # the ancestor: the project's working mount (see the module docstring)
        (f"{ROOT}/readonlyish", {}),
    ],
)
def test_readonly_or_outside_mounts_are_allowed(path: str, mount: dict[str, Any]) -> None:
    assert codes(global_fs_pod(path, **mount)) == ()


def test_every_container_mounting_the_readonly_area_needs_readonly() -> None:
    pod = global_fs_pod(f"{ROOT}/readonly", readOnly=True)
    sidecar = container("sidecar")
    sidecar["volumeMounts"] = [{"name": "project", "mountPath": "/data"}]
    pod["spec"]["initContainers"] = [sidecar]
    decision = validate_pod(pod, ALPHA)
    assert decision.codes == ("readonly-area-writable",)
    assert decision.reasons[0].field.startswith("spec.initContainers[0]")


# -- identity ------------------------------------------------------------------------


def test_uid_is_taken_from_the_pod_when_the_container_sets_none() -> None:
    pod = global_fs_pod()
    del pod["spec"]["containers"][0]["securityContext"]["runAsUser"]
    pod["spec"]["securityContext"] = {"runAsUser": UID}
    assert codes(pod) == ()


def test_the_container_uid_overrides_the_pod_uid() -> None:
    pod = global_fs_pod()
    pod["spec"]["securityContext"] = {"runAsUser": 1000}
    assert codes(pod) == ()
    pod["spec"]["securityContext"] = {"runAsUser": UID}
    pod["spec"]["containers"][0]["securityContext"]["runAsUser"] = 0
    decision = validate_pod(pod, ALPHA)
    assert decision.codes == ("run-as-user-mismatch",)
    assert "runs as UID 0" in decision.message() and str(UID) in decision.message()


@pytest.mark.parametrize("uid", [None, 1000, 0, True, "51001"])
def test_a_wrong_or_missing_uid_is_denied(uid: Any) -> None:
    pod = global_fs_pod()
    pod["spec"]["containers"][0]["securityContext"]["runAsUser"] = uid
    assert codes(pod) == ("run-as-user-mismatch",)


def test_groups_must_be_the_tenant_gid() -> None:
    pod = global_fs_pod()
    pod["spec"]["containers"][0]["securityContext"]["runAsGroup"] = 0
    assert codes(pod) == ("run-as-group-mismatch",)
    pod = global_fs_pod()
    pod["spec"]["securityContext"] = {"supplementalGroups": [GID, 52000], "fsGroup": 0}
    decision = validate_pod(pod, ALPHA)
    assert decision.codes == ("supplemental-groups-foreign", "supplemental-groups-foreign")
    assert [r.field for r in decision.reasons] == [
        "spec.securityContext.supplementalGroups",
        "spec.securityContext.fsGroup",
    ]
    pod["spec"]["securityContext"] = {"supplementalGroups": [GID], "fsGroup": GID}
    assert codes(pod) == ()


def test_run_as_non_root_may_be_unset_or_true_but_not_false() -> None:
    pod = global_fs_pod()
    pod["spec"]["securityContext"] = {"runAsNonRoot": False}
    assert codes(pod) == ("run-as-non-root-false",)
    pod["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = True  # overrides the pod
    assert codes(pod) == ()


@pytest.mark.parametrize("value", [None, True, "false"])
def test_privilege_escalation_must_be_explicitly_off(value: Any) -> None:
    pod = global_fs_pod()
    pod["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = value
    assert codes(pod) == ("privilege-escalation-allowed",)


@pytest.mark.parametrize(
    "capabilities",
    [None, {}, {"drop": ["NET_RAW"]}, {"drop": "ALL"}, {"drop": ["all"]}],
)
def test_all_capabilities_must_be_dropped(capabilities: Any) -> None:
    pod = global_fs_pod()
    pod["spec"]["containers"][0]["securityContext"]["capabilities"] = capabilities
    assert codes(pod) == ("capabilities-not-dropped",)


@pytest.mark.parametrize("kind", ["initContainers", "ephemeralContainers"])
def test_identity_rules_cover_init_and_ephemeral_containers(kind: str) -> None:
    pod = global_fs_pod()
    pod["spec"][kind] = [{"name": "debug", "image": "busybox"}]
    decision = validate_pod(pod, ALPHA)
    assert set(decision.codes) == {
        "run-as-user-mismatch",
        "run-as-group-mismatch",
        "privilege-escalation-allowed",
        "capabilities-not-dropped",
    }
    assert all(r.field.startswith(f"spec.{kind}[0]") for r in decision.reasons)


def test_identity_rules_apply_only_to_pods_with_hostpaths() -> None:
    pod = plain_pod()
    pod["spec"]["containers"][0]["securityContext"] = {"runAsUser": 0, "allowPrivilegeEscalation": True}
    assert codes(pod) == ()


def test_a_tenant_without_uid_or_gid_fails_closed() -> None:
    decision = validate_pod(global_fs_pod(), Tenant("alpha", None, None, ROOT))
    assert decision.codes == ("tenant-identity-unknown",)
    assert UID_ANNOTATION in decision.message()


@pytest.mark.parametrize(
    "pod",
    [
        {},
        {"spec": None},
        {"spec": "nonsense"},
        {"spec": {"containers": "x", "volumes": [None, 3, {"hostPath": None}, {"hostPath": "x"}]}},
        {"spec": {"containers": [None, {"securityContext": []}], "securityContext": "x"}},
        {
            "spec": {
                "volumes": [{"name": "v", "hostPath": {"path": ROOT}}],
                "containers": [{"volumeMounts": [None]}],
            }
        },
    ],
)
def test_malformed_pods_never_raise(pod: dict[str, Any]) -> None:
    assert isinstance(validate_pod(pod, ALPHA), Decision)
    assert isinstance(mutate_pod(pod, ALPHA), list)


def test_decision_types_are_plain_values() -> None:
    reason = Reason("host-pid", "hostPID is not allowed", "spec.hostPID")
    decision = Decision((reason,))
    assert not decision.allowed and decision.codes == ("host-pid",)
    assert decision == Decision((Reason("host-pid", "hostPID is not allowed", "spec.hostPID"),))


# -- JSON pointer and patch ------------------------------------------------------------


def test_pointer_escapes_tilde_before_slash() -> None:
    assert escape_token("a/b~c") == "a~1b~0c"
    assert escape_token("~1") == "~01"
    assert pointer("metadata", "labels", TENANT_LABEL) == "/metadata/labels/platform.spin.example~1tenant"
    assert pointer("spec", "containers", 0, "-") == "/spec/containers/0/-"


def test_labels_object_is_created_when_missing() -> None:
    pod = global_fs_pod()
    patch = mutate_pod(pod, ALPHA)
    assert patch[0] == {
        "op": "add",
        "path": "/metadata/labels",
        "value": {TENANT_LABEL: "alpha", USES_GLOBAL_FS_LABEL: "true"},
    }
    assert apply_patch(pod, patch)["metadata"]["labels"] == {
        TENANT_LABEL: "alpha",
        USES_GLOBAL_FS_LABEL: "true",
    }


def test_existing_labels_get_escaped_keys_and_a_claimed_tenant_is_overwritten() -> None:
    pod = plain_pod()
    pod["metadata"]["labels"] = {"app": "web", TENANT_LABEL: "beta"}
    patch = mutate_pod(pod, ALPHA)
    assert patch[0] == {
        "op": "add",
        "path": "/metadata/labels/platform.spin.example~1tenant",
        "value": "alpha",
    }
    assert apply_patch(pod, patch)["metadata"]["labels"] == {"app": "web", TENANT_LABEL: "alpha"}


def test_metadata_itself_is_created_when_missing() -> None:
    pod: dict[str, Any] = {"spec": {"containers": []}}
    patched = apply_patch(pod, mutate_pod(pod, ALPHA))
    assert patched["metadata"] == {"labels": {TENANT_LABEL: "alpha"}}


def test_no_tenant_name_means_no_tenant_label() -> None:
    patch = mutate_pod(plain_pod(), Tenant())
    assert [op["path"] for op in patch] == ["/spec/securityContext"]


def test_seccomp_is_defaulted_at_pod_level_when_unset() -> None:
    pod = plain_pod()
    patched = apply_patch(pod, mutate_pod(pod, ALPHA))
    assert patched["spec"]["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}

    pod["spec"]["securityContext"] = {"runAsUser": UID}
    patch = mutate_pod(pod, ALPHA)
    assert {
        "op": "add",
        "path": "/spec/securityContext/seccompProfile",
        "value": {"type": "RuntimeDefault"},
    } in patch
    assert apply_patch(pod, patch)["spec"]["securityContext"]["runAsUser"] == UID


def test_an_explicit_seccomp_profile_is_kept() -> None:
    pod = plain_pod()
    pod["spec"]["securityContext"] = {"seccompProfile": {"type": "Localhost", "localhostProfile": "x.json"}}
    assert all("seccomp" not in op["path"] for op in mutate_pod(pod, ALPHA))


def test_windows_pods_get_no_seccomp() -> None:
    pod = plain_pod()
    pod["spec"]["os"] = {"name": "windows"}
    assert all("securityContext" not in op["path"] for op in mutate_pod(pod, ALPHA))


def test_global_fs_pods_get_a_required_node_affinity() -> None:
    pod = global_fs_pod()
    patched = apply_patch(pod, mutate_pod(pod, ALPHA))
    required = patched["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert required == {"nodeSelectorTerms": [{"matchExpressions": [REQUIREMENT]}]}


def test_the_requirement_is_anded_into_every_existing_term() -> None:
    pod = global_fs_pod()
    pod["spec"]["affinity"] = {
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []},
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {}}],
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]},
                    {},
                    {"matchExpressions": [REQUIREMENT]},
                ]
            },
        },
    }
    patch = mutate_pod(pod, ALPHA)
    base = "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms"
    assert [op["path"] for op in patch if "affinity" in op["path"]] == [
        f"{base}/0/matchExpressions/-",
        f"{base}/1/matchExpressions",
    ]
    patched = apply_patch(pod, patch)
    terms = patched["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms[0]["matchExpressions"][-1] == REQUIREMENT
    assert terms[1]["matchExpressions"] == [REQUIREMENT] and terms[1]["matchFields"]
    assert terms[2] == {}, "an empty term matches nothing and must stay so"
    assert terms[3] == {"matchExpressions": [REQUIREMENT]}
    assert patched["spec"]["affinity"]["podAntiAffinity"] == pod["spec"]["affinity"]["podAntiAffinity"]


def test_an_empty_term_list_is_replaced() -> None:
    pod = global_fs_pod()
    pod["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}
    patched = apply_patch(pod, mutate_pod(pod, ALPHA))
    required = patched["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert required == {"nodeSelectorTerms": [{"matchExpressions": [REQUIREMENT]}]}


def test_pods_without_a_global_fs_hostpath_get_no_affinity() -> None:
    for pod in (plain_pod(), global_fs_pod("/etc")):
        patch = mutate_pod(pod, ALPHA)
        assert all("affinity" not in op["path"] for op in patch)
        assert USES_GLOBAL_FS_LABEL not in apply_patch(pod, patch)["metadata"].get("labels", {})


@pytest.mark.parametrize(
    "pod",
    [plain_pod(), global_fs_pod(), global_fs_pod(f"{ROOT}/readonly", readOnly=True)],
)
def test_mutation_is_idempotent_and_leaves_its_input_alone(pod: dict[str, Any]) -> None:
    before = copy.deepcopy(pod)
    patch = mutate_pod(pod, ALPHA)
    assert pod == before
    patched = apply_patch(pod, patch)
    assert mutate_pod(patched, ALPHA) == []
    assert validate_pod(patched, ALPHA) == validate_pod(pod, ALPHA), "mutation must not change the verdict"


def test_the_fallback_applier_agrees_with_jsonpatch() -> None:
    import jsonpatch  # a dev dependency (pyproject.toml)

    pod = global_fs_pod()
    pod["metadata"]["labels"] = {"a/b": "c"}
    pod["spec"]["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchFields": [1]}]}
        }
    }
    patch = mutate_pod(pod, ALPHA)
    assert _apply_add_only(pod, patch) == jsonpatch.apply_patch(pod, patch)
