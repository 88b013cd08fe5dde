"""Reading a Pod as an AdmissionReview carries it, where any field may be absent or malformed.

A value of the wrong type counts as unset; nothing here raises on bad input.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from harness.webhooks.policy.paths import collapse_path, has_traversal, is_within
from harness.webhooks.policy.tenant import Tenant

CONTAINER_KINDS = ("containers", "initContainers", "ephemeralContainers")


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Container:
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
        return as_dict(self.body.get("securityContext"))


def containers(spec: Mapping[str, Any]) -> Iterator[Container]:
    for kind in CONTAINER_KINDS:
        for index, body in enumerate(as_list(spec.get(kind))):
            yield Container(kind, index, as_dict(body))


@dataclass(frozen=True)
class HostPathVolume:
    index: int
    name: object
    raw_path: object
    #: Normalised path, or None when it is not a string, not absolute or has ``..``.
    path: str | None


def host_path_volumes(spec: Mapping[str, Any]) -> list[HostPathVolume]:
    found = []
    for index, volume in enumerate(as_list(spec.get("volumes"))):
        volume = as_dict(volume)
        if "hostPath" not in volume or volume["hostPath"] is None:
            continue
        raw = as_dict(volume["hostPath"]).get("path")
        path = None
        if isinstance(raw, str) and raw.startswith("/") and not has_traversal(raw):
            path = collapse_path(raw)
        found.append(HostPathVolume(index, volume.get("name"), raw, path))
    return found


def global_fs_volumes(pod: Mapping[str, Any], tenant: Tenant) -> list[str]:
    """Names of the pod's hostPath volumes that lie within the tenant's global-fs root."""
    root = tenant.global_fs_root
    spec = as_dict(as_dict(pod).get("spec"))
    return [
        str(v.name)
        for v in host_path_volumes(spec)
        if root is not None and v.path is not None and is_within(v.path, root)
    ]
