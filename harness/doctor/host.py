"""``doctor`` checks of the host: Python, Go, free space in the cache, Chromium, Allure's CLI."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.version import InvalidVersion, Version

from harness.doctor.cache import go_needed_by_newest_kubernetes
from harness.doctor.result import CheckResult
from harness.paths import cache_root
from harness.report.allure_html import find_allure
from harness.toolchain.sources import source_names

MIN_PYTHON = (3, 11)
#: Free space the cache needs for one more Kubernetes version and its Go build cache.
MIN_FREE_GIB = 10


def check_python() -> CheckResult:
    have = sys.version_info[:2]
    ok = have >= MIN_PYTHON
    needed = ".".join(map(str, MIN_PYTHON))
    return CheckResult(
        "python",
        ok,
        f"Python {sys.version.split()[0]} ({sys.executable}; needs >= {needed})",
        required=True,
        fix=f"install Python {needed}+ and run scripts/setup with it",
    )


def check_go() -> CheckResult:
    """Go is required when the build source is configured (the default); its version must be
    at least what the newest Kubernetes's go.mod asks for."""
    required = "build" in source_names()
    needed, where = go_needed_by_newest_kubernetes()
    fix = f"install Go >= {needed} (https://go.dev/dl/) or run scripts/setup"
    go = shutil.which("go")
    if go is None:
        return CheckResult("go", False, "the go command is not on PATH", required, fix)
    try:
        out = subprocess.run([go, "version"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CheckResult("go", False, f"go version did not answer: {exc}", required, fix)
    found = re.search(r"go(\d+\.\d+(?:\.\d+)?)", out)
    if not found:
        return CheckResult("go", False, f"cannot read the version in {out.strip()!r}", required, fix)
    try:
        ok = Version(found.group(1)) >= Version(needed)
    except InvalidVersion:
        ok = False
    return CheckResult("go", ok, f"go {found.group(1)} (needs >= {needed}, {where})", required, fix)


def check_disk() -> CheckResult:
    root = cache_root()
    probe = next((p for p in (root, *root.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(probe).free / 2**30
    return CheckResult(
        "disk",
        free >= MIN_FREE_GIB,
        f"{free:.1f} GiB free for {root} (needs >= {MIN_FREE_GIB} GiB)",
        required=True,
        fix=f"free space on {probe} (spin-harness gc; go clean -cache) or point SPIN_HARNESS_CACHE at a larger disk",
    )


def check_chromium() -> CheckResult:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)
    return CheckResult(
        "chromium",
        found is not None,
        f"{found} (the report's browser test)" if found else "no chromium (the report's browser test is skipped)",
        required=False,
        fix="scripts/setup (installs Debian's chromium)",
    )


def check_allure() -> CheckResult:
    found = find_allure()
    return CheckResult(
        "allure",
        found is not None,
        f"{found} (builds allure-report/)" if found else "no allure CLI (reports lack the Allure HTML)",
        required=False,
        fix="scripts/setup (npm install allure into the cache), or set SPIN_HARNESS_ALLURE",
    )
