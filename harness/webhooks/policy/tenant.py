"""The tenant a pod belongs to, as the policy reads it from the pod's namespace.

An AdmissionReview for a pod does not carry the Namespace, so the webhook looks it up and
reads the platform's label and annotations (see ``harness.webhooks.policy``). A missing or
invalid value is treated as absent, so the rules that need it fail closed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from harness.kube.labels import PLATFORM_DOMAIN, TENANT_LABEL
from harness.webhooks.policy.paths import collapse_path, has_traversal

__all__ = [
    "EXEMPT_LABEL",
    "GID_ANNOTATION",
    "GLOBAL_FS_ANNOTATION",
    "GLOBAL_FS_NODE_LABEL",
    "GLOBAL_FS_NODE_VALUE",
    "READONLY_DIR",
    "TENANT_LABEL",
    "UID_ANNOTATION",
    "USES_GLOBAL_FS_LABEL",
    "Tenant",
]

UID_ANNOTATION = f"{PLATFORM_DOMAIN}/uid"
GID_ANNOTATION = f"{PLATFORM_DOMAIN}/gid"
GLOBAL_FS_ANNOTATION = f"{PLATFORM_DOMAIN}/global-fs"
#: Pod label set by the mutation on pods that mount the global filesystem.
USES_GLOBAL_FS_LABEL = f"{PLATFORM_DOMAIN}/uses-global-fs"
#: Pod label that registrations may exempt from the webhooks (see ``manifests``).
EXEMPT_LABEL = f"{PLATFORM_DOMAIN}/exempt"
#: Node label (and value) on nodes where the global filesystem is mounted.
GLOBAL_FS_NODE_LABEL = f"{PLATFORM_DOMAIN}/global-fs"
GLOBAL_FS_NODE_VALUE = "mounted"
#: Name of the read-only area directly below a tenant's global-fs root.
READONLY_DIR = "readonly"

_DECIMAL = re.compile(r"[0-9]{1,10}")
_MAX_ID = 2**31 - 1
#: White space around an annotation value is ignored: Unicode's White_Space characters, as the
#: apiserver's CEL ``trim()`` has them. Python's ``str.strip()`` would also drop the ASCII
#: information separators U+001C..U+001F, so ``"\x1f51001"`` would pass as UID 51001.
_SPACE = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace() and not "\x1c" <= ch <= "\x1f")


def _parse_id(raw: object) -> int | None:
    """A UID/GID annotation: decimal, 1..2^31-1. Root (0) is never a tenant identity."""
    if not isinstance(raw, str) or not _DECIMAL.fullmatch(text := raw.strip(_SPACE)):
        return None
    value = int(text)
    return value if 0 < value <= _MAX_ID else None


def _parse_root(raw: object) -> str | None:
    if not isinstance(raw, str) or not raw.startswith("/") or has_traversal(raw):
        return None
    root = collapse_path(raw)
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
