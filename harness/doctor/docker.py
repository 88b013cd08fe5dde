"""``doctor`` checks of the Docker engine the kind provider and image builds use, and its quirks.

Quirks seen on test machines: a sandbox that reduces the capability bounding set makes
``docker run --privileged`` (every kind node) fail unless the bounded runtime wrapper is the
engine's default runtime (``scripts/docker-engine --bounded-runtime``); and kubelets of 1.35+
refuse cgroup v1 by default.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from harness.doctor.cache import newest_minor_hint
from harness.doctor.result import CheckResult
from harness.images.engine import engine_unavailable_reason
from harness.images.kind_node import NODE_REPOSITORY

BOUNDED_RUNTIME = "runc-bounded"


def docker_info() -> dict[str, Any] | None:
    """``docker info`` as JSON, or None when no engine answers."""
    if shutil.which("docker") is None:
        return None
    try:
        proc = subprocess.run(
            ["docker", "info", "--format", "{{json .}}"], capture_output=True, text=True, timeout=20, check=False
        )
        info = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return info if isinstance(info, dict) else None


def bounding_set_reduced(status: str | None = None, last_cap: int | None = None) -> bool:
    """Whether this process's capability bounding set lacks a capability the kernel knows."""
    if status is None:
        status = Path("/proc/self/status").read_text()
    if last_cap is None:
        last_cap = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    line = next((x for x in status.splitlines() if x.startswith("CapBnd:")), "CapBnd: 0")
    have = int(line.split()[1], 16)
    want = (1 << (last_cap + 1)) - 1
    return have & want != want


def check_docker_engine() -> CheckResult:
    reason = engine_unavailable_reason()
    info = docker_info() if reason is None else None
    detail = reason or "answers"
    if info:
        detail = (
            f"Docker {info.get('ServerVersion', '?')}, cgroup v{info.get('CgroupVersion', '?')}, "
            f"runtime {info.get('DefaultRuntime', '?')} (kind provider and image builds)"
        )
    return CheckResult("docker", reason is None, detail, required=False, fix="scripts/docker-engine")


def check_bounded_runtime() -> CheckResult:
    fix = "scripts/docker-engine --bounded-runtime"
    try:
        reduced = bounding_set_reduced()
    except (OSError, ValueError, IndexError) as exc:
        return CheckResult("capabilities", True, f"cannot read the bounding set ({exc})", required=False, fix=fix)
    if not reduced:
        return CheckResult("capabilities", True, "full capability bounding set", required=False, fix=fix)
    info = docker_info()
    runtime = info.get("DefaultRuntime") if info else None
    return CheckResult(
        "capabilities",
        runtime == BOUNDED_RUNTIME,
        f"reduced capability bounding set; the engine's default runtime is {runtime or 'unknown (no engine answers)'}, "
        f"privileged kind nodes need {BOUNDED_RUNTIME}",
        required=False,
        fix=fix,
    )


def check_cgroup() -> CheckResult:
    """Informational: cgroup v1 works, because the kind provider tells 1.35+ kubelets to accept it."""
    info = docker_info()
    version = str(info.get("CgroupVersion", "")) if info else ""
    if not version:
        version = "2" if Path("/sys/fs/cgroup/cgroup.controllers").is_file() else "1"
    detail = f"cgroup v{version}"
    if version == "1":
        detail += " (kind clusters set failCgroupV1: false, which kubelets of 1.35+ need on v1)"
    return CheckResult("cgroup", True, detail, required=False)


def check_node_images() -> CheckResult:
    fix = f"spin-harness images build --version {newest_minor_hint()}"
    if docker_info() is None:
        return CheckResult("kind images", False, "no Docker engine to hold them", required=False, fix=fix)
    proc = subprocess.run(
        ["docker", "image", "ls", NODE_REPOSITORY, "--format", "{{.Tag}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    tags = sorted({t for t in proc.stdout.split() if t.startswith("v") and "-" not in t})
    return CheckResult(
        "kind images",
        bool(tags),
        f"node images: {', '.join(tags)}" if tags else f"no {NODE_REPOSITORY} image built yet",
        required=False,
        fix=fix,
    )
