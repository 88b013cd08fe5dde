"""``spin-harness doctor``: is this machine ready for runs, and if not, what fixes it.

Each check is a small function returning a ``CheckResult`` (required or optional, OK or
MISSING, and the command that fixes it). A check that itself fails counts as a missing
required item, with the error as its detail, so the doctor never hides a problem.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from harness.doctor.cache import check_toolchain
from harness.doctor.docker import check_bounded_runtime, check_cgroup, check_docker_engine, check_node_images
from harness.doctor.host import check_allure, check_chromium, check_disk, check_go, check_python
from harness.doctor.result import CheckResult, exit_code, render

Check = Callable[[], CheckResult]

#: In the order they are printed: what every run needs, then kind's engine, then reports, then caches.
CHECKS: tuple[Check, ...] = (
    check_python,
    check_go,
    check_disk,
    check_docker_engine,
    check_bounded_runtime,
    check_cgroup,
    check_chromium,
    check_allure,
    check_toolchain,
    check_node_images,
)


def run_checks(checks: Sequence[Check] = CHECKS) -> list[CheckResult]:
    results = []
    for check in checks:
        try:
            results.append(check())
        except Exception as exc:
            name = check.__name__.removeprefix("check_").replace("_", " ")
            results.append(CheckResult(name, False, f"the check failed: {exc!r}", required=True))
    return results


__all__ = ["CHECKS", "CheckResult", "exit_code", "render", "run_checks"]
