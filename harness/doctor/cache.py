"""``doctor`` checks of the toolchain cache, and what the newest Kubernetes asks of Go.

Everything here reads files only (the cached version list, the Go module cache, manifests):
the doctor answers in seconds, offline, and never starts a build or asks the module proxy.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness.doctor.result import CheckResult
from harness.paths import cache_root
from harness.toolchain import goproxy
from harness.toolchain.manifest import MANIFEST_NAME, Manifest
from harness.versions import KubeVersion

#: Go that Kubernetes 1.35+ needs (their go.mod says ``go 1.25.0``) when no go.mod is cached.
KNOWN_MIN_GO = "1.25"
_GO_DIRECTIVE = re.compile(r"^go\s+(\d+\.\d+(?:\.\d+)?)\s*$", re.M)


def cached_published_versions() -> list[KubeVersion]:
    """The Kubernetes versions the last ``toolchain versions`` lookup saw (none when never run)."""
    try:
        names = json.loads((cache_root() / "toolchain" / "kubernetes-versions.json").read_text())
        return sorted(KubeVersion.parse(name) for name in names)
    except (OSError, ValueError, TypeError):
        return []


def go_needed_by_newest_kubernetes() -> tuple[str, str]:
    """(Go version, where that came from): the newest cached Kubernetes go.mod, or the known minimum."""
    downloads = goproxy.module_cache() / "cache" / "download" / "k8s.io" / "kubernetes" / "@v"
    for version in reversed(cached_published_versions()):
        gomod = downloads / f"{version}.mod"
        if gomod.is_file():
            found = _GO_DIRECTIVE.search(gomod.read_text())
            if found:
                return found.group(1), f"Kubernetes {version}'s go.mod"
    return KNOWN_MIN_GO, "what Kubernetes 1.35+ needs; no newer go.mod is cached"


def cached_kubernetes_versions(root: Path | None = None) -> list[str]:
    """Kubernetes versions with verified-looking binaries in the toolchain cache."""
    products = (root or cache_root() / "toolchain") / "kubernetes"
    found = []
    for directory in sorted(products.glob("v*")) if products.is_dir() else []:
        if (directory / MANIFEST_NAME).is_file() and Manifest.load(directory, "kubernetes", directory.name).components:
            found.append(directory.name)
    return sorted(found, key=lambda name: KubeVersion.parse(name))


def newest_minor_hint() -> str:
    published = cached_published_versions()
    return published[-1].minor_version if published else "1.37"


def check_toolchain() -> CheckResult:
    versions = cached_kubernetes_versions()
    return CheckResult(
        "toolchain",
        bool(versions),
        f"Kubernetes binaries cached: {', '.join(versions)}" if versions else "no Kubernetes binaries cached yet",
        required=False,
        fix=f"spin-harness toolchain ensure {newest_minor_hint()} (a cold build takes about 10 minutes)",
    )
