"""``validate_pod``: every rule of the policy that can deny a pod, in rule order.

The rules and their reason codes are listed in ``harness.webhooks.policy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.webhooks.policy.paths import collapse_path, has_traversal, is_within
from harness.webhooks.policy.pod import (
    Container,
    HostPathVolume,
    as_dict,
    as_int,
    as_list,
    containers,
    host_path_volumes,
)
from harness.webhooks.policy.tenant import GID_ANNOTATION, GLOBAL_FS_ANNOTATION, UID_ANNOTATION, Tenant


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


@dataclass
class _Findings:
    reasons: list[Reason] = field(default_factory=list)

    def add(self, code: str, where: str, message: str) -> None:
        self.reasons.append(Reason(code, message, where))


def _check_host_isolation(spec: Mapping[str, Any], out: _Findings) -> None:
    for c in containers(spec):
        if c.security.get("privileged") is True:
            out.add("privileged", f"{c.where}.securityContext.privileged", f"{c.label} is privileged")
    for key, code in (("hostNetwork", "host-network"), ("hostPID", "host-pid"), ("hostIPC", "host-ipc")):
        if spec.get(key) is True:
            out.add(code, f"spec.{key}", f"{key} is not allowed for tenant pods")


def _check_host_paths(spec: Mapping[str, Any], tenant: Tenant, out: _Findings) -> list[HostPathVolume]:
    volumes = host_path_volumes(spec)
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


def _check_mounts(spec: Mapping[str, Any], tenant: Tenant, volumes: list[HostPathVolume], out: _Findings) -> None:
    by_name = {v.name: v for v in volumes if isinstance(v.name, str)}
    readonly = tenant.readonly_root
    for c in containers(spec):
        for m_index, mount in enumerate(as_list(c.body.get("volumeMounts"))):
            mount = as_dict(mount)
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
            effective = collapse_path(f"{volume.path}/{sub}") if sub else volume.path
            if is_within(effective, readonly) and mount.get("readOnly") is not True:
                out.add(
                    "readonly-area-writable",
                    f"{where}.readOnly",
                    f"{c.label} mounts {effective} (in the read-only area {readonly}) without readOnly: true",
                )


def _effective(c: Container, pod_security: Mapping[str, Any], key: str) -> object:
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
    pod_security = as_dict(spec.get("securityContext"))
    groups = [g for g in as_list(pod_security.get("supplementalGroups")) if g != tenant.gid]
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
    for c in containers(spec):
        sc = f"{c.where}.securityContext"
        user = as_int(_effective(c, pod_security, "runAsUser"))
        if tenant.uid is not None and user != tenant.uid:
            out.add(
                "run-as-user-mismatch",
                f"{sc}.runAsUser",
                f"{c.label} runs as UID {user if user is not None else 'unset'}; "
                f"pods mounting the global filesystem must run as {tenant.describe()}'s UID {tenant.uid}",
            )
        group = as_int(_effective(c, pod_security, "runAsGroup"))
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
        drop = as_list(as_dict(c.security.get("capabilities")).get("drop"))
        if "ALL" not in drop:
            out.add("capabilities-not-dropped", f"{sc}.capabilities.drop", f"{c.label} must drop ALL capabilities")


def validate_pod(pod: Mapping[str, Any], tenant: Tenant) -> Decision:
    """Decide on ``pod`` in ``tenant``'s namespace; every violated rule is reported, in rule order."""
    spec = as_dict(as_dict(pod).get("spec"))
    out = _Findings()
    _check_host_isolation(spec, out)
    volumes = _check_host_paths(spec, tenant, out)
    if volumes:
        _check_mounts(spec, tenant, volumes, out)
        _check_identity(spec, tenant, out)
    return Decision(tuple(out.reasons))
