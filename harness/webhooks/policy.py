"""The platform's written admission policy for tenant pods, as a pure-Python oracle.

The same two functions decide in the admission webhook (``harness.webhooks.server``) and serve
as the reference that property tests and the CEL twin (``harness.webhooks.manifests``) are held
against. That is why there is no I/O here, no clock and no Kubernetes client: a Pod as JSON
plus the tenant's namespace metadata in, a decision or a JSON patch out.

Inputs
======

``pod``: the Pod exactly as an AdmissionReview carries it (``request.object``, camelCase keys).
Absent and ``null`` fields mean "unset". Malformed input never raises: a value of the wrong
type counts as unset, which for every rule below is the answer that does *not* let a pod through
more easily (an unset ``allowPrivilegeEscalation`` is denied, an unset ``privileged`` is not).

``Tenant``: read from the pod's namespace, because an AdmissionReview for a pod does not carry
the Namespace object::

    metadata.labels["platform.spin.example/tenant"]          = "alpha"
    metadata.annotations["platform.spin.example/uid"]        = "51001"
    metadata.annotations["platform.spin.example/gid"]        = "51001"
    metadata.annotations["platform.spin.example/global-fs"]  = "/global/cfs/projects/alpha"

A missing or invalid UID/GID/root (non-decimal, 0 i.e. root, a relative path, ``..``, ``/``)
is treated as absent, so the rules that need it fail closed.

Rules and their stable reason codes
===================================

Host isolation, every pod:

``privileged``
    any container - ``containers``, ``initContainers`` and ``ephemeralContainers`` (debug
    containers join a running pod through a subresource and are checked the same way) - with
    ``securityContext.privileged: true``.
``host-network`` / ``host-pid`` / ``host-ipc``
    ``spec.hostNetwork`` / ``hostPID`` / ``hostIPC`` true.

Global filesystem. A tenant may mount its own project directory from the centre's global
filesystem with a ``hostPath`` volume, nothing else of the host:

``hostpath-not-absolute``
    the path does not start with ``/``.
``hostpath-traversal``
    the path, or a ``subPath`` of a mount of a hostPath volume, has a ``..`` segment. Such
    paths are rejected outright, never resolved: whether ``/global/cfs/projects/alpha/../beta``
    stays inside the root must not depend on who normalises the string, and how.
``hostpath-outside-global-fs``
    after normalisation (repeated ``/`` collapsed, ``.`` segments and a trailing ``/`` dropped)
    the path is neither the tenant's root nor below it. ``/global/cfs/projects/alphabet`` is
    *not* below ``/global/cfs/projects/alpha``: comparison is by path segments, not characters.
    A tenant without a (valid) root gets this for every hostPath.
``hostpath-subpath-expr``
    a mount of a hostPath volume uses ``subPathExpr``: where it lands is only known inside the
    kubelet, so the read-only rule below could not be checked.
``readonly-area-writable``
    the **read-only area** is ``<root>/readonly`` and everything below it (for tenant alpha:
    ``/global/cfs/projects/alpha/readonly``, e.g. ``.../readonly/datasets``), where the centre
    publishes data the project may read but not change. Every ``volumeMount`` (in any
    container) whose effective host path - volume path plus ``subPath`` - is at or below that
    directory must have ``readOnly: true``. Mounting an *ancestor* (the root itself) writable is
    allowed: that is the project's normal working mount, and the read-only area inside it is
    protected by filesystem ownership on the global filesystem; this rule stops a pod from
    asking for a writable mount of the area itself.

Identity, for every pod with at least one ``hostPath`` volume, checked on every container
(including ephemeral ones, which can mount the pod's volumes later). Container-level
``securityContext`` fields override pod-level ones, as in the kubelet:

``tenant-identity-unknown``
    the namespace has no valid UID or GID annotation (fail closed).
``run-as-user-mismatch``
    effective ``runAsUser`` unset or not the tenant UID: files on the global filesystem are
    owned by project UIDs, so the UID is the tenant boundary.
``run-as-group-mismatch``
    effective ``runAsGroup`` unset or not the tenant GID, and
``supplemental-groups-foreign``
    pod ``supplementalGroups`` or ``fsGroup`` other than the tenant GID. Both go beyond "run as
    the tenant UID" on purpose: group permissions on the global filesystem are per project, so
    another project's GID would open its group-readable data just as a foreign UID would.
``run-as-non-root-false``
    effective ``runAsNonRoot: false`` (unset is fine: the UID rule already excludes root).
``privilege-escalation-allowed``
    ``allowPrivilegeEscalation`` is not explicitly ``false`` (it defaults to true).
``capabilities-not-dropped``
    ``capabilities.drop`` does not contain ``ALL``.

Mutation
========

``mutate_pod`` returns an RFC 6902 JSON patch that (1) sets the pod label
``platform.spin.example/tenant: <tenant>`` (overwriting a value the pod claimed for itself),
plus ``platform.spin.example/uses-global-fs: "true"`` for pods with a global-fs hostPath;
(2) sets ``spec.securityContext.seccompProfile: {type: RuntimeDefault}`` when the pod level is
unset (containers with their own profile keep it; Windows pods are left alone, where seccomp
is invalid); (3) for pods with a global-fs hostPath, requires nodes labelled
``platform.spin.example/global-fs=mounted``: the requirement is ANDed into every existing
required node-selector term (adding a new term would OR it and weaken nothing), or a term is
created. Missing parent objects are created by the patch; the patch is idempotent (applying
it and mutating again yields ``[]``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

DOMAIN = "platform.spin.example"
TENANT_LABEL = f"{DOMAIN}/tenant"
UID_ANNOTATION = f"{DOMAIN}/uid"
GID_ANNOTATION = f"{DOMAIN}/gid"
GLOBAL_FS_ANNOTATION = f"{DOMAIN}/global-fs"
#: Pod label set by the mutation on pods that mount the global filesystem.
USES_GLOBAL_FS_LABEL = f"{DOMAIN}/uses-global-fs"
#: Pod label that registrations may exempt from the webhooks (see ``manifests``).
EXEMPT_LABEL = f"{DOMAIN}/exempt"
#: Node label (and value) on nodes where the global filesystem is mounted.
GLOBAL_FS_NODE_LABEL = f"{DOMAIN}/global-fs"
GLOBAL_FS_NODE_VALUE = "mounted"
#: Name of the read-only area directly below a tenant's global-fs root.
READONLY_DIR = "readonly"

CONTAINER_KINDS = ("containers", "initContainers", "ephemeralContainers")

JsonPatch = list[dict[str, Any]]

_DECIMAL = re.compile(r"[0-9]{1,10}")
_MAX_ID = 2**31 - 1


# -- results -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why a pod is denied: a stable ``code``, a human ``message`` and the offending ``field``."""

    code: str
    message: str
    field: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.field}: {self.message}"


@dataclass(frozen=True)
class Decision:
    """The verdict on one pod; allowed exactly when there is no reason to deny it."""

    reasons: tuple[Reason, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.reasons

    @property
    def codes(self) -> tuple[str, ...]:
        """Reason codes in rule order, one per finding (a code repeats for several containers)."""
        return tuple(r.code for r in self.reasons)

    def message(self) -> str:
        """All reasons on one line, as the apiserver shows a webhook denial to the user."""
        return "; ".join(str(r) for r in self.reasons)


# -- the tenant ----------------------------------------------------------------------


def _parse_id(raw: object) -> int | None:
    """A UID/GID annotation: decimal, 1..2^31-1. Root (0) is never a tenant identity."""
    if not isinstance(raw, str) or not _DECIMAL.fullmatch(raw.strip()):
        return None
    value = int(raw.strip())
    return value if 0 < value <= _MAX_ID else None


def has_traversal(path: str) -> bool:
    """True when any ``/``-separated segment is ``..``."""
    return ".." in path.split("/")


def normalise(path: str) -> str:
    """Collapse repeated ``/``, drop ``.`` segments and a trailing ``/``; keep ``..`` as is.

    Deliberately *not* ``posixpath.normpath``: that resolves ``..`` (which callers must reject
    first, see ``has_traversal``) and keeps a leading ``//``.
    """
    segments = [s for s in path.split("/") if s not in ("", ".")]
    prefix = "/" if path.startswith("/") else ""
    return prefix + "/".join(segments) if segments else prefix or "."


def is_within(path: str, root: str) -> bool:
    """Whether normalised absolute ``path`` is ``root`` or below it, segment by segment."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def _parse_root(raw: object) -> str | None:
    if not isinstance(raw, str) or not raw.startswith("/") or has_traversal(raw):
        return None
    root = normalise(raw)
    return root if root != "/" else None


@dataclass(frozen=True)
class Tenant:
    """What the policy needs to know about the pod's namespace; ``None`` means absent or invalid."""

    name: str | None = None
    uid: int | None = None
    gid: int | None = None
    global_fs_root: str | None = None

    @classmethod
    def from_namespace(
        cls,
        labels: Mapping[str, str] | None,
        annotations: Mapping[str, str] | None,
    ) -> Tenant:
        """Read the tenant from a namespace's labels and annotations (see the module docstring)."""
        labels = labels if isinstance(labels, Mapping) else {}
        annotations = annotations if isinstance(annotations, Mapping) else {}
        name = labels.get(TENANT_LABEL)
        return cls(
            name=name if isinstance(name, str) and name else None,
            uid=_parse_id(annotations.get(UID_ANNOTATION)),
            gid=_parse_id(annotations.get(GID_ANNOTATION)),
            global_fs_root=_parse_root(annotations.get(GLOBAL_FS_ANNOTATION)),
        )

    @property
    def readonly_root(self) -> str | None:
        """The read-only area, ``<root>/readonly``, or None without a root."""
        return f"{self.global_fs_root}/{READONLY_DIR}" if self.global_fs_root else None

    def describe(self) -> str:
        return f"tenant {self.name}" if self.name else "this namespace's tenant"


# -- reading the pod -----------------------------------------------------------------


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class _Container:
    kind: str
    index: int
    body: dict[str, Any]

    @property
    def where(self) -> str:
        return f"spec.{self.kind}[{self.index}]"

    @property
    def label(self) -> str:
        name = self.body.get("name")
        return f"container {name!r}" if isinstance(name, str) else f"{self.where}"

    @property
    def security(self) -> dict[str, Any]:
        return _dict(self.body.get("securityContext"))


def _containers(spec: Mapping[str, Any]) -> Iterator[_Container]:
    for kind in CONTAINER_KINDS:
        for index, body in enumerate(_list(spec.get(kind))):
            yield _Container(kind, index, _dict(body))


@dataclass(frozen=True)
class _HostPathVolume:
    index: int
    name: object
    raw_path: object
    #: Normalised path, or None when it is not a string, not absolute or has ``..``.
    path: str | None


def _host_path_volumes(spec: Mapping[str, Any]) -> list[_HostPathVolume]:
    found = []
    for index, volume in enumerate(_list(spec.get("volumes"))):
        volume = _dict(volume)
        if "hostPath" not in volume or volume["hostPath"] is None:
            continue
        raw = _dict(volume["hostPath"]).get("path")
        path = None
        if isinstance(raw, str) and raw.startswith("/") and not has_traversal(raw):
            path = normalise(raw)
        found.append(_HostPathVolume(index, volume.get("name"), raw, path))
    return found


def global_fs_volumes(pod: Mapping[str, Any], tenant: Tenant) -> list[str]:
    """Names of the pod's hostPath volumes that lie within the tenant's global-fs root."""
    root = tenant.global_fs_root
    spec = _dict(_dict(pod).get("spec"))
    return [
        str(v.name)
        for v in _host_path_volumes(spec)
        if root is not None and v.path is not None and is_within(v.path, root)
    ]


# -- validation ----------------------------------------------------------------------


@dataclass
class _Findings:
    reasons: list[Reason] = field(default_factory=list)

    def add(self, code: str, where: str, message: str) -> None:
        self.reasons.append(Reason(code, message, where))


def _check_host_isolation(spec: Mapping[str, Any], out: _Findings) -> None:
    for c in _containers(spec):
        if c.security.get("privileged") is True:
            out.add("privileged", f"{c.where}.securityContext.privileged", f"{c.label} is privileged")
    for key, code in (("hostNetwork", "host-network"), ("hostPID", "host-pid"), ("hostIPC", "host-ipc")):
        if spec.get(key) is True:
            out.add(code, f"spec.{key}", f"{key} is not allowed for tenant pods")


def _check_host_paths(spec: Mapping[str, Any], tenant: Tenant, out: _Findings) -> list[_HostPathVolume]:
    volumes = _host_path_volumes(spec)
    root = tenant.global_fs_root
    for v in volumes:
        where = f"spec.volumes[{v.index}].hostPath.path"
        if not isinstance(v.raw_path, str) or not v.raw_path.startswith("/"):
            out.add("hostpath-not-absolute", where, f"hostPath {v.raw_path!r} is not an absolute path")
        elif v.path is None:
            out.add("hostpath-traversal", where, f"hostPath {v.raw_path!r} contains '..'")
        elif root is None:
            out.add(
                "hostpath-outside-global-fs",
                where,
                f"{tenant.describe()} has no global-fs root ({GLOBAL_FS_ANNOTATION}); no hostPath is allowed",
            )
        elif not is_within(v.path, root):
            out.add("hostpath-outside-global-fs", where, f"hostPath {v.raw_path!r} is outside {root}")
    return volumes


def _check_mounts(spec: Mapping[str, Any], tenant: Tenant, volumes: list[_HostPathVolume], out: _Findings) -> None:
    by_name = {v.name: v for v in volumes if isinstance(v.name, str)}
    readonly = tenant.readonly_root
    for c in _containers(spec):
        for m_index, mount in enumerate(_list(c.body.get("volumeMounts"))):
            mount = _dict(mount)
            mount_name = mount.get("name")
            volume = by_name.get(mount_name) if isinstance(mount_name, str) else None
            if volume is None:
                continue
            where = f"{c.where}.volumeMounts[{m_index}]"
            if mount.get("subPathExpr"):
                out.add(
                    "hostpath-subpath-expr",
                    f"{where}.subPathExpr",
                    f"{c.label} mounts hostPath volume {volume.name!r} with subPathExpr",
                )
            sub = mount.get("subPath")
            sub = sub if isinstance(sub, str) else ""
            if sub.startswith("/") or has_traversal(sub):
                out.add("hostpath-traversal", f"{where}.subPath", f"subPath {sub!r} leaves the volume")
                continue
            if volume.path is None or readonly is None:
                continue
            effective = normalise(f"{volume.path}/{sub}") if sub else volume.path
            if is_within(effective, readonly) and mount.get("readOnly") is not True:
                out.add(
                    "readonly-area-writable",
                    f"{where}.readOnly",
                    f"{c.label} mounts {effective} (in the read-only area {readonly}) without readOnly: true",
                )


def _effective(c: _Container, pod_security: Mapping[str, Any], key: str) -> object:
    value = c.security.get(key)
    return value if value is not None else pod_security.get(key)


def _check_identity(spec: Mapping[str, Any], tenant: Tenant, out: _Findings) -> None:
    if tenant.uid is None or tenant.gid is None:
        out.add(
            "tenant-identity-unknown",
            "metadata.namespace",
            f"{tenant.describe()} has no valid {UID_ANNOTATION} and {GID_ANNOTATION} annotations; "
            "pods with hostPath volumes cannot be admitted",
        )
    pod_security = _dict(spec.get("securityContext"))
    groups = [g for g in _list(pod_security.get("supplementalGroups")) if g != tenant.gid]
    fs_group = pod_security.get("fsGroup")
    if groups and tenant.gid is not None:
        out.add(
            "supplemental-groups-foreign",
            "spec.securityContext.supplementalGroups",
            f"groups {groups} are not the tenant GID {tenant.gid}",
        )
    if fs_group is not None and tenant.gid is not None and fs_group != tenant.gid:
        out.add(
            "supplemental-groups-foreign",
            "spec.securityContext.fsGroup",
            f"fsGroup {fs_group!r} is not the tenant GID {tenant.gid}",
        )
    for c in _containers(spec):
        sc = f"{c.where}.securityContext"
        user = _int(_effective(c, pod_security, "runAsUser"))
        if tenant.uid is not None and user != tenant.uid:
            out.add(
                "run-as-user-mismatch",
                f"{sc}.runAsUser",
                f"{c.label} runs as UID {user if user is not None else 'unset'}; "
                f"pods mounting the global filesystem must run as {tenant.describe()}'s UID {tenant.uid}",
            )
        group = _int(_effective(c, pod_security, "runAsGroup"))
        if tenant.gid is not None and group != tenant.gid:
            out.add(
                "run-as-group-mismatch",
                f"{sc}.runAsGroup",
                f"{c.label} runs as GID {group if group is not None else 'unset'}; "
                f"must be {tenant.describe()}'s GID {tenant.gid}",
            )
        if _effective(c, pod_security, "runAsNonRoot") is False:
            out.add("run-as-non-root-false", f"{sc}.runAsNonRoot", f"{c.label} sets runAsNonRoot: false")
        if c.security.get("allowPrivilegeEscalation") is not False:
            out.add(
                "privilege-escalation-allowed",
                f"{sc}.allowPrivilegeEscalation",
                f"{c.label} must set allowPrivilegeEscalation: false",
            )
        drop = _list(_dict(c.security.get("capabilities")).get("drop"))
        if "ALL" not in drop:
            out.add("capabilities-not-dropped", f"{sc}.capabilities.drop", f"{c.label} must drop ALL capabilities")


def validate_pod(pod: Mapping[str, Any], tenant: Tenant) -> Decision:
    """Decide on ``pod`` in ``tenant``'s namespace; every violated rule is reported, in rule order."""
    spec = _dict(_dict(pod).get("spec"))
    out = _Findings()
    _check_host_isolation(spec, out)
    volumes = _check_host_paths(spec, tenant, out)
    if volumes:
        _check_mounts(spec, tenant, volumes, out)
        _check_identity(spec, tenant, out)
    return Decision(tuple(out.reasons))


# -- mutation ------------------------------------------------------------------------


def escape_token(token: str) -> str:
    """One JSON-pointer reference token (RFC 6901): ``~`` as ``~0``, then ``/`` as ``~1``."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    """A JSON pointer from raw tokens, e.g. ``pointer("metadata", "labels", "a/b")``."""
    return "".join("/" + escape_token(str(t)) for t in tokens)


def _ensure(doc: Mapping[str, Any], tokens: tuple[str, ...], leaf: Any, ops: JsonPatch) -> bool:
    """Add ``leaf`` at ``tokens``, creating missing (or null) parent objects in one ``add``.

    Returns False, adding nothing, when a parent exists but is not an object (an invalid pod
    the apiserver will reject anyway; patching it would only produce a confusing error).
    """
    node: Any = doc
    for depth, token in enumerate(tokens):
        child = node.get(token) if isinstance(node, dict) else None
        if child is None or depth == len(tokens) - 1:
            value = leaf
            for inner in reversed(tokens[depth + 1 :]):
                value = {inner: value}
            ops.append({"op": "add", "path": pointer(*tokens[: depth + 1]), "value": value})
            return True
        if not isinstance(child, dict):
            return False
        node = child
    return False


def _label_ops(pod: Mapping[str, Any], wanted: dict[str, str], ops: JsonPatch) -> None:
    labels = _dict(pod.get("metadata")).get("labels")
    if not isinstance(labels, dict):
        _ensure(pod, ("metadata", "labels"), wanted, ops)
        return
    for key, value in wanted.items():
        if labels.get(key) != value:
            ops.append({"op": "add", "path": pointer("metadata", "labels", key), "value": value})


def _node_requirement() -> dict[str, Any]:
    return {"key": GLOBAL_FS_NODE_LABEL, "operator": "In", "values": [GLOBAL_FS_NODE_VALUE]}


def _affinity_ops(pod: Mapping[str, Any], ops: JsonPatch) -> None:
    requirement = _node_requirement()
    base = ("spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    required = _dict(_dict(_dict(_dict(pod.get("spec")).get("affinity")).get("nodeAffinity")).get(base[-1]))
    terms = required.get("nodeSelectorTerms")
    if not isinstance(terms, list) or not terms:
        _ensure(pod, (*base, "nodeSelectorTerms"), [{"matchExpressions": [requirement]}], ops)
        return
    for index, term in enumerate(terms):
        term = _dict(term)
        expressions = term.get("matchExpressions")
        if not _list(expressions) and not _list(term.get("matchFields")):
            continue  # an empty term matches no node; ANDing into it would widen the selection
        if requirement in _list(expressions):
            continue
        at = (*base, "nodeSelectorTerms", index, "matchExpressions")
        if isinstance(expressions, list):
            ops.append({"op": "add", "path": pointer(*at, "-"), "value": requirement})
        else:
            ops.append({"op": "add", "path": pointer(*at), "value": [requirement]})


def mutate_pod(pod: Mapping[str, Any], tenant: Tenant) -> JsonPatch:
    """The RFC 6902 patch that applies the platform defaults to ``pod`` (see the module docstring)."""
    pod = _dict(pod)
    ops: JsonPatch = []
    uses_global_fs = bool(global_fs_volumes(pod, tenant))
    wanted: dict[str, str] = {}
    if tenant.name:
        wanted[TENANT_LABEL] = tenant.name
    if uses_global_fs:
        wanted[USES_GLOBAL_FS_LABEL] = "true"
    if wanted:
        _label_ops(pod, wanted, ops)
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return ops
    is_windows = _dict(spec.get("os")).get("name") == "windows"
    if not is_windows and _dict(spec.get("securityContext")).get("seccompProfile") is None:
        _ensure(pod, ("spec", "securityContext", "seccompProfile"), {"type": "RuntimeDefault"}, ops)
    if uses_global_fs:
        _affinity_ops(pod, ops)
    return ops
