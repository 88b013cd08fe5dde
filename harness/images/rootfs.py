"""Debian root filesystems from Debian's packages, cached as tarballs by suite and package set.

A root is the base of a kind node image (systemd, runc, iptables, CNI plugins) and the
source of the tenant workload image's busybox. ``debootstrap`` needs root and a Debian
mirror (``SPIN_HARNESS_DEBIAN_MIRROR``; an air-gapped site points it at its own mirror);
it takes about a minute and a half, so the tarball is kept and shared between workers under
a lock. Documentation, locales and apt's caches are left out: nothing reads them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from harness.errors import ImageError
from harness.paths import cache_root
from harness.progress import ProgressFn, no_progress, phase

DEFAULT_MIRROR = "http://deb.debian.org/debian"

#: What a kind node needs beyond minbase: init, the OCI runtime, networking tools the kubelet,
#: kube-proxy and CNI plugins call, and busybox for the tenant image.
NODE_PACKAGES: tuple[str, ...] = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "runc",
    "iproute2",
    "iptables",
    "nftables",
    "conntrack",
    "ethtool",
    "kmod",
    "libseccomp2",
    "procps",
    "ca-certificates",
    "util-linux",
    "mount",
    "containernetworking-plugins",
    "busybox-static",
)

#: Left out of the tarball: caches and documentation, regenerated or never read in a node.
_EXCLUDED = (
    "./var/cache/apt/archives",
    "./var/lib/apt/lists",
    "./usr/share/doc",
    "./usr/share/man",
    "./usr/share/locale",
    "./usr/share/info",
)


@dataclass(frozen=True)
class DebianRoot:
    """One root: what it is made of and where its tarball is."""

    suite: str
    packages: tuple[str, ...]
    mirror: str = DEFAULT_MIRROR

    @property
    def key(self) -> str:
        digest = hashlib.sha256("\n".join([self.suite, *sorted(self.packages)]).encode()).hexdigest()
        return f"debian-{self.suite}-{digest[:12]}"

    def tarball(self, root: Path | None = None) -> Path:
        return (root or cache_root() / "images" / "rootfs") / f"{self.key}.tar"


def debian_root(suite: str, packages: tuple[str, ...]) -> DebianRoot:
    """A root from the configured mirror (``SPIN_HARNESS_DEBIAN_MIRROR``)."""
    return DebianRoot(suite, packages, os.environ.get("SPIN_HARNESS_DEBIAN_MIRROR", DEFAULT_MIRROR))


def node_root() -> DebianRoot:
    return debian_root("bookworm", NODE_PACKAGES)


def ensure_root(spec: DebianRoot, *, cache: Path | None = None, progress: ProgressFn = no_progress) -> Path:
    """The tarball of ``spec``, made with debootstrap the first time (under a lock shared by workers)."""
    target = spec.tarball(cache)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if target.is_file():
            return target
        if shutil.which("debootstrap") is None:
            raise ImageError(
                "debootstrap is not installed; a node image's Debian root is made with it",
                hint="apt-get install debootstrap (scripts/docker-engine installs it)",
            )
        if os.geteuid() != 0:
            raise ImageError("debootstrap needs root to make a Debian root", hint="run the image build as root")
        work = Path(tempfile.mkdtemp(prefix=".debootstrap-", dir=target.parent))
        try:
            started = time.monotonic()
            debootstrap = f"debootstrap {spec.suite} with {len(spec.packages)} packages from {spec.mirror}"
            with phase(progress, f"{debootstrap} (about 90 s)"):
                _run(
                    [
                        "debootstrap",
                        "--variant=minbase",
                        f"--include={','.join(spec.packages)}",
                        spec.suite,
                        str(work / "root"),
                        spec.mirror,
                    ],
                    work / "debootstrap.log",
                )
            partial = target.with_suffix(".tar.part")
            excludes = [f"--exclude={path}" for path in _EXCLUDED]
            with phase(progress, f"tar of the {spec.suite} root"):
                _run(
                    ["tar", "-C", str(work / "root"), "--numeric-owner", *excludes, "-cf", str(partial), "."],
                    work / "tar.log",
                )
            os.replace(partial, target)
            progress(f"{spec.key}: {target.stat().st_size >> 20} MiB in {time.monotonic() - started:.0f}s")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def _run(command: list[str], log: Path) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise ImageError(f"{command[0]} failed (exit {proc.returncode}):\n{tail}")
    log.write_text(proc.stdout + proc.stderr)
