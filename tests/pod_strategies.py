"""Hypothesis strategies for tenant pods, shared by the oracle's properties and the live ones.

The strategies take ``valid``. With ``valid=False`` (the oracle's unit properties) anything a
pod could carry is fair game, including what no apiserver accepts: ``..`` in paths, duplicate
container names, ephemeral containers on create, a label key with ``~`` (to exercise JSON
pointer escaping), Windows pods with Linux-only fields. With ``valid=True`` (the live
properties) every pod passes the apiserver's own validation, so a request reaches the
validating webhook instead of ending in a 422. Such pods still break most rules: wrong or
unset UIDs and GIDs, ``runAsNonRoot: false``, privilege escalation, missing drops, privileged
containers, host namespaces, relative hostPaths and hostPaths outside the tenant's root,
``subPathExpr``, writable mounts of the read-only area, ``supplementalGroups`` and
``fsGroup`` with the tenant's GID, another project's or root's. Not ``..`` traversal: the
apiserver refuses that itself, before the validating webhook is called.

The tenant is alpha, with the identity and global-fs root below; its UID and GID differ, so
a policy that mixes them up is caught.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from harness.webhooks.policy import GLOBAL_FS_NODE_LABEL, TENANT_LABEL

UID, GID = 51001, 52001
#: Another project's GID, and root's: foreign groups for a pod of tenant alpha.
FOREIGN_GIDS = (52002, 0)
ROOT = "/global/cfs/projects/alpha"
COMPLIANT = {
    "runAsUser": UID,
    "runAsGroup": GID,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}
#: Container-only securityContext fields, which PodSecurityContext does not have.
CONTAINER_ONLY = ("privileged", "allowPrivilegeEscalation", "capabilities")

SEGMENTS = ["global", "cfs", "projects", "alpha", "alphabet", "beta", "readonly", "..", ".", "", "x"]


def maybe(draw: st.DrawFn, strategy: st.SearchStrategy[Any]) -> Any:
    return draw(strategy) if draw(st.booleans()) else None


def as_json(pod: dict[str, Any]) -> dict[str, Any]:
    """``pod`` as a JSON document, which never shares sub-objects.

    ``sampled_from`` hands out the same dict every time, so two node selector terms (or two
    containers' capabilities) could be one object, and a patch applied to one would show up in
    the other: unlike on the wire, and ``deepcopy`` keeps such sharing.
    """
    copied: dict[str, Any] = json.loads(json.dumps(pod))
    return copied


@st.composite
def any_host_paths(draw: st.DrawFn, valid: bool = False) -> str:
    prefix = draw(st.sampled_from(["", "/", "//", ROOT, f"{ROOT}/", "/global/cfs/projects"]))
    # The apiserver refuses a hostPath with a ".." segment, and an empty one.
    segments = [s for s in SEGMENTS if s != ".."] if valid else SEGMENTS
    path = prefix + "/".join(draw(st.lists(st.sampled_from(segments), max_size=6)))
    return (path or ".") if valid else path


def host_paths(valid: bool = False) -> st.SearchStrategy[str]:
    """Paths inside the root (the interesting case for the mutation and the read-only area) half the time."""
    return st.one_of(
        st.lists(st.sampled_from(["work", "readonly", "x", ".", ""]), max_size=3).map(
            lambda parts: "/".join([ROOT, *parts])
        ),
        any_host_paths(valid),
    )


@st.composite
def security_contexts(draw: st.DrawFn, valid: bool = False) -> dict[str, Any] | None:
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
    if valid and context.get("privileged") is True and context.get("allowPrivilegeEscalation") is False:
        del context["allowPrivilegeEscalation"]  # the apiserver refuses this combination
    return context


@st.composite
def containers(
    draw: st.DrawFn, volume_names: list[str], valid: bool = False, names: tuple[str, ...] = ("app", "side", "init")
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": draw(st.sampled_from(names)), "image": "registry.invalid/app:1"}
    security = draw(security_contexts(valid))
    if security is not None:
        body["securityContext"] = security
    mounts = []
    for index, name in enumerate(draw(st.lists(st.sampled_from(volume_names), max_size=2)) if volume_names else []):
        mount: dict[str, Any] = {"name": name, "mountPath": f"/m{index}"}
        if draw(st.booleans()):
            mount["readOnly"] = draw(st.booleans())
        if draw(st.integers(0, 3)) == 0:
            subpaths = ["readonly", "readonly/d", "work", ""] + ([] if valid else ["../beta"])
            mount["subPath"] = draw(st.sampled_from(subpaths))
        # subPath and subPathExpr are mutually exclusive for the apiserver.
        if draw(st.integers(0, 9)) == 0 and not (valid and mount.get("subPath")):
            mount["subPathExpr"] = "$(POD_NAME)"
        mounts.append(mount)
    if mounts:
        body["volumeMounts"] = mounts
    return body


@st.composite
def affinities(draw: st.DrawFn, valid: bool = False) -> dict[str, Any] | None:
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
    node: dict[str, Any] = {}
    # A required node selector needs at least one term for the apiserver.
    terms = draw(st.lists(term, min_size=1 if valid else 0, max_size=3))
    if draw(st.booleans()):
        node["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": terms}
    elif not valid:
        node["requiredDuringSchedulingIgnoredDuringExecution"] = {}
    if draw(st.booleans()):
        node["preferredDuringSchedulingIgnoredDuringExecution"] = [{"weight": 1, "preference": {}}]
    return {"nodeAffinity": node} if choice == 2 else {"nodeAffinity": node, "podAffinity": {}}


@st.composite
def group_settings(draw: st.DrawFn, valid: bool = False) -> dict[str, Any]:
    """Pod-level ``supplementalGroups`` and ``fsGroup``: the tenant's GID, foreign ones, or none."""
    gids = st.sampled_from([GID, *FOREIGN_GIDS] if valid else [GID, *FOREIGN_GIDS, str(GID), True])
    found: dict[str, Any] = {}
    if draw(st.integers(0, 2)) == 0:
        found["supplementalGroups"] = draw(st.lists(gids, max_size=3, unique=True))
    if draw(st.integers(0, 2)) == 0:
        found["fsGroup"] = draw(gids)
    return found


@st.composite
def pods(draw: st.DrawFn, valid: bool = False) -> dict[str, Any]:
    count = draw(st.integers(0, 2))
    volumes = [{"name": f"v{i}", "hostPath": {"path": draw(host_paths(valid))}} for i in range(count)]
    if draw(st.booleans()):
        volumes.append({"name": "scratch", "emptyDir": {}})
    names = [str(v["name"]) for v in volumes]
    # Container names must be unique across all kinds of containers in a valid pod.
    unique = {"unique_by": lambda c: c["name"]} if valid else {}
    main = ("app", "side") if valid else ("app", "side", "init")
    spec: dict[str, Any] = {
        "containers": draw(st.lists(containers(names, valid, main), min_size=1, max_size=2, **unique))
    }
    # Ephemeral containers cannot be set on create; they only arrive through their subresource.
    for kind in ("initContainers",) if valid else ("initContainers", "ephemeralContainers"):
        if draw(st.integers(0, 3)) == 0:
            extra = ("init",) if valid else ("app", "side", "init")
            spec[kind] = draw(st.lists(containers(names, valid, extra), min_size=1, max_size=1))
    if volumes:
        spec["volumes"] = volumes
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if draw(st.integers(0, 4)) == 0:
            spec[key] = draw(st.booleans())
    pod_security = draw(security_contexts(valid))
    if pod_security is not None:
        for key in CONTAINER_ONLY if valid else ("privileged",):
            pod_security.pop(key, None)
    groups = draw(group_settings(valid))
    if groups:
        pod_security = {**(pod_security or {}), **groups}
    if pod_security is not None:
        spec["securityContext"] = pod_security
    affinity = draw(affinities(valid))
    if affinity is not None:
        spec["affinity"] = affinity
    # Windows pods may not carry Linux-only security fields, which most drawn pods have.
    if not valid and draw(st.integers(0, 5)) == 0:
        spec["os"] = {"name": "windows"}
    metadata: dict[str, Any] = {"name": "p"}
    odd = {TENANT_LABEL: "beta", "example.com/team": "d"} if valid else {TENANT_LABEL: "beta", "a/b~c": "d"}
    labels = draw(st.sampled_from([None, {}, {"app": "web"}, odd]))
    if labels is not None:
        metadata["labels"] = labels
    return as_json({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})


def mounts_decide(pod: dict[str, Any]) -> dict[str, Any]:
    """``pod`` with every container running as the tenant, unprivileged, no foreign groups and no host namespaces.

    Only its volumes and mounts are then left to decide, which makes admitted global-fs pods
    (where the mutation adds node affinity) common instead of rare among drawn pods.
    """
    pod = as_json(pod)
    spec = pod["spec"]
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        spec.pop(key, None)
    pod_security = spec.get("securityContext") or {}
    pod_security.pop("runAsNonRoot", None)
    if "supplementalGroups" in pod_security:
        pod_security["supplementalGroups"] = [g for g in pod_security["supplementalGroups"] if g == GID]
    if pod_security.get("fsGroup") != GID:
        pod_security.pop("fsGroup", None)
    for kind in ("containers", "initContainers", "ephemeralContainers"):
        for container in spec.get(kind, []):
            security = container.get("securityContext") or {}
            keep = {k: v for k, v in security.items() if k == "seccompProfile"}
            container["securityContext"] = {**COMPLIANT, **keep}
    return as_json(pod)
