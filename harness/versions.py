"""Kubernetes versions and the version-skew rules the harness enforces.

Versions are parsed once, here, into ``KubeVersion``; everything else compares those.
The skew rules follow the upstream policy: the control plane moves one minor at a time and
never backwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from harness.errors import VersionError

_SHAPE = re.compile(r"^v?\d+\.\d+(\.\d+)?$")


@dataclass(frozen=True, order=True)
class KubeVersion:
    """A released Kubernetes version, ``vMAJOR.MINOR.PATCH``."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str, *, field: str = "version") -> KubeVersion:
        """Parse ``v1.36.3`` or ``1.36.3``; raise ``VersionError`` naming ``field`` otherwise."""
        exact = cls.parse_partial(text, field=field)
        if exact.patch < 0:
            raise VersionError(
                f"{field}: {text!r} has no patch number",
                hint="give a full version such as v1.36.3, or resolve the minor first",
            )
        return exact

    @classmethod
    def parse_partial(cls, text: str, *, field: str = "version") -> KubeVersion:
        """Parse a full version or a bare minor (``1.36``, patch -1 meaning "newest patch")."""
        raw = str(text).strip()
        if not _SHAPE.match(raw):
            raise VersionError(
                f"{field}: {text!r} is not a Kubernetes version",
                hint="expected vMAJOR.MINOR.PATCH such as v1.36.3, or MAJOR.MINOR such as 1.36",
            )
        try:
            parsed = Version(raw.removeprefix("v"))
        except InvalidVersion as exc:  # pragma: no cover - the regex already guards this
            raise VersionError(f"{field}: {text!r} is not a Kubernetes version") from exc
        release = parsed.release
        patch = release[2] if len(release) == 3 else -1
        if release[0] != 1:
            raise VersionError(
                f"{field}: {text!r} has major version {release[0]}",
                hint="only Kubernetes 1.x exists",
            )
        return cls(release[0], release[1], patch)

    @property
    def is_partial(self) -> bool:
        return self.patch < 0

    @property
    def minor_version(self) -> str:
        """``1.36``: the release line, as used in the skew policy and etcd tables."""
        return f"{self.major}.{self.minor}"

    @property
    def staging_version(self) -> str:
        """The published version of the staging modules (``k8s.io/api`` etc.): ``v0.36.3``."""
        return f"v0.{self.minor}.{self.patch}"

    def __str__(self) -> str:
        if self.is_partial:
            return f"v{self.major}.{self.minor}"
        return f"v{self.major}.{self.minor}.{self.patch}"


MIN_SUPPORTED = KubeVersion(1, 31, 0)


def check_supported(version: KubeVersion, *, field: str = "version") -> None:
    """Refuse versions older than the oldest line the harness can start (1.31)."""
    if (version.major, version.minor) < (MIN_SUPPORTED.major, MIN_SUPPORTED.minor):
        raise VersionError(
            f"{field}: {version} is older than {MIN_SUPPORTED.minor_version}, the oldest line spin-harness runs",
            hint="choose 1.31 or newer",
        )


def upgrade_refusal(current: KubeVersion, target: KubeVersion) -> str | None:
    """Why an in-place control-plane upgrade from ``current`` to ``target`` breaks the skew policy.

    Returns ``None`` when the hop is allowed.
    """
    if target == current:
        return f"the cluster already runs {current}"
    if target < current:
        return f"{current} -> {target} is a downgrade; Kubernetes supports only upgrades in place"
    if target.major != current.major:
        return f"{current} -> {target} changes the major version"
    if target.minor > current.minor + 1:
        return (
            f"{current} -> {target} skips minor version(s): the control plane must be upgraded "
            f"one minor at a time ({current.minor_version} -> 1.{current.minor + 1} first)"
        )
    return None
