"""What the Go module proxy knows: published Kubernetes versions and their pinned etcd.

Both answers come from the ``go`` command, so they honour the user's GOPROXY, GOPRIVATE and
GOFLAGS, and work wherever a module proxy (or mirror) is reachable. The version list is
cached for an hour because CI asks for it on every run. A bare minor resolves to its newest
patch this machine can build or fetch (``patches.py``; the staging check in ``staging.py``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from harness.errors import HarnessError, ToolchainError, VersionError
from harness.paths import cache_root
from harness.progress import ProgressFn, no_progress, notice
from harness.toolchain.manifest import Manifest
from harness.toolchain.patches import PatchCheck, choose_patch
from harness.toolchain.release import ReleaseSource, ReleaseURLs
from harness.toolchain.sources import source_names
from harness.toolchain.staging import StagingAnswers, unpublished_staging
from harness.versions import KubeVersion

_LIST_TTL_SECONDS = 3600
KUBERNETES_MODULE = "k8s.io/kubernetes"


def go_binary() -> str:
    found = shutil.which("go")
    if not found:
        raise ToolchainError("the go command is not on PATH", hint="install Go 1.22+ or use --source release|dir")
    return found


def module_cache() -> Path:
    """The Go module cache: ``GOMODCACHE``, else what ``go env`` says, else ``~/go/pkg/mod``.

    Read without asking the module proxy, so the doctor and the release notes can look offline.
    """
    configured = os.environ.get("GOMODCACHE")
    if configured:
        return Path(configured)
    go = shutil.which("go")
    if go:
        try:
            out = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True, timeout=30, check=False)
            if out.stdout.strip():
                return Path(out.stdout.strip())
        except (OSError, subprocess.TimeoutExpired):
            pass
    return Path.home() / "go" / "pkg" / "mod"


def run_go(args: list[str], *, cwd: Path | None = None, timeout: float = 600) -> str:
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-mod=mod")
    proc = subprocess.run(
        [go_binary(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise ToolchainError(f"go {' '.join(args)} failed:\n{tail}")
    return proc.stdout


def published_versions(*, refresh: bool = False) -> list[KubeVersion]:
    """Every release ``vX.Y.Z`` of k8s.io/kubernetes that the module proxy serves, oldest first."""
    cache = cache_root() / "toolchain" / "kubernetes-versions.json"
    if not refresh and cache.is_file() and time.time() - cache.stat().st_mtime < _LIST_TTL_SECONDS:
        names = json.loads(cache.read_text())
    else:
        out = run_go(["list", "-m", "-versions", KUBERNETES_MODULE], timeout=120)
        names = [v for v in out.split()[1:] if re.fullmatch(r"v1\.\d+\.\d+", v)]
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(names))
    return sorted(KubeVersion.parse(v) for v in names)


def newest_minors(count: int, *, note: ProgressFn = no_progress) -> list[KubeVersion]:
    """The newest usable patch of each of the ``count`` newest minors: CI's default version set.

    ``note`` hears of every minor whose newest patch had to be skipped, and why.
    """
    by_minor: dict[int, list[KubeVersion]] = {}
    for version in published_versions():
        by_minor.setdefault(version.minor, []).append(version)
    return [
        choose_patch(patches[0], patches, patch_check, note=note, only_skips=True)
        for patches in (by_minor[m] for m in sorted(by_minor)[-count:])
    ]


def resolve(text: str, *, field: str = "version", note: ProgressFn = notice) -> KubeVersion:
    """Turn ``1.36`` into its newest patch usable here (saying which and why); check a full version."""
    wanted = KubeVersion.parse_partial(text, field=field)
    available = published_versions()
    same_minor = [v for v in available if (v.major, v.minor) == (wanted.major, wanted.minor)]
    if wanted.is_partial:
        return choose_patch(wanted, same_minor, patch_check, note=note, field=field)
    if wanted not in available:
        known = ", ".join(str(v) for v in same_minor) or "none"
        raise VersionError(
            f"{field}: {KUBERNETES_MODULE} {wanted} is not published on the Go module proxy",
            hint=f"published {wanted.minor_version} releases: {known}",
        )
    return wanted


def patch_check(version: KubeVersion) -> PatchCheck:
    """Whether ``version`` can be provided here: cached, buildable from the proxy, or released."""
    root = cache_root() / "toolchain"
    sources = source_names()
    if Manifest.load(root / "kubernetes" / str(version), "kubernetes", str(version)).components:
        return PatchCheck(True, "already in the toolchain cache")
    if "build" not in sources:
        return PatchCheck(True, "the newest published patch; the build source is not configured, so not checked")
    answers = StagingAnswers(root)
    missing = answers.get(version)
    if missing is None:
        try:
            gomod = gomod_text(KUBERNETES_MODULE, str(version))
            missing = unpublished_staging(version, gomod, go=go_binary(), cwd=root / "build")
        except HarnessError as exc:
            return PatchCheck(False, str(exc))
        answers.put(version, missing)
    if not missing:
        return PatchCheck(True, "the module proxy serves its staging modules, so it builds")
    why = f"the Go module proxy does not serve {', '.join(missing)}"
    if "release" in sources and ReleaseSource(ReleaseURLs.from_env(), timeout=10).serves_kubernetes(str(version)):
        return PatchCheck(True, f"the release server has its binaries ({why})")
    return PatchCheck(False, why)


def gomod_text(module: str, version: str) -> str:
    """A module version's go.mod, fetched alone (no source zip) through the proxy."""
    info = json.loads(run_go(["list", "-m", "-json", f"{module}@{version}"], timeout=120))
    if info.get("Error") or not info.get("GoMod"):
        raise ToolchainError(f"{module}@{version}: {info.get('Error', {}).get('Err', 'no go.mod')}")
    return Path(info["GoMod"]).read_text()


def module_dir(module: str, version: str) -> Path:
    """Download one module version into the module cache and return its source directory."""
    out = run_go(["mod", "download", "-json", f"{module}@{version}"], timeout=900)
    info = json.loads(out)
    if info.get("Error"):
        raise ToolchainError(f"{module}@{version}: {info['Error']}")
    return Path(info["Dir"])


def kubernetes_gomod(version: KubeVersion) -> str:
    """The text of k8s.io/kubernetes's own go.mod at ``version``."""
    out = run_go(["mod", "download", "-json", f"{KUBERNETES_MODULE}@{version}"], timeout=900)
    info = json.loads(out)
    if info.get("Error"):
        raise VersionError(f"{KUBERNETES_MODULE}@{version}: {info['Error']}")
    return Path(info["GoMod"]).read_text()


_ETCD_TABLE = re.compile(r"^\s*(\d+):\s*\"(\d+\.\d+\.\d+)-\d+\",", re.M)
_ETCD_DEFAULT = re.compile(r"DefaultEtcdVersion\s*=\s*\"(\d+\.\d+\.\d+)-\d+\"")


def etcd_version_for(version: KubeVersion) -> str:
    """The etcd release kubeadm pins for this Kubernetes minor, read from the release's own source."""
    source = (module_dir(KUBERNETES_MODULE, str(version)) / "cmd/kubeadm/app/constants/constants.go").read_text()
    table: dict[int, str] = {int(minor): etcd for minor, etcd in _ETCD_TABLE.findall(source)}
    if version.minor in table:
        return "v" + table[version.minor]
    default = _ETCD_DEFAULT.search(source)
    if not default:
        raise ToolchainError(f"cannot find the etcd version kubeadm {version} uses")
    return "v" + default.group(1)
