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

from harness.kube.labels import PLATFORM_DOMAIN
from harness.webhooks.policy.mutate import JsonPatch, escape_token, mutate_pod, pointer
from harness.webhooks.policy.paths import collapse_path, has_traversal, is_within
from harness.webhooks.policy.pod import CONTAINER_KINDS, global_fs_volumes
from harness.webhooks.policy.tenant import (
    EXEMPT_LABEL,
    GID_ANNOTATION,
    GLOBAL_FS_ANNOTATION,
    GLOBAL_FS_NODE_LABEL,
    GLOBAL_FS_NODE_VALUE,
    READONLY_DIR,
    TENANT_LABEL,
    UID_ANNOTATION,
    USES_GLOBAL_FS_LABEL,
    Tenant,
)
from harness.webhooks.policy.validate import Decision, Reason, validate_pod

__all__ = [
    "CONTAINER_KINDS",
    "EXEMPT_LABEL",
    "GID_ANNOTATION",
    "GLOBAL_FS_ANNOTATION",
    "GLOBAL_FS_NODE_LABEL",
    "GLOBAL_FS_NODE_VALUE",
    "PLATFORM_DOMAIN",
    "READONLY_DIR",
    "TENANT_LABEL",
    "UID_ANNOTATION",
    "USES_GLOBAL_FS_LABEL",
    "Decision",
    "JsonPatch",
    "Reason",
    "Tenant",
    "collapse_path",
    "escape_token",
    "global_fs_volumes",
    "has_traversal",
    "is_within",
    "mutate_pod",
    "pointer",
    "validate_pod",
]
