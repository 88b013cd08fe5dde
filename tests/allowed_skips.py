"""Every skip the test suite may take, with its reason and the condition under which it is allowed.

A skipped test checked nothing, so a green run with skips says less than it seems to. The
suite's skip ledger (``tests/skip_ledger.py``) fails the run when a test is skipped for a reason
not listed here, or for a listed reason while its condition does not hold (under CI, where
``scripts/setup`` installs everything, no environment-dependent skip is allowed). The table of
skips taken is printed at the end of every run.

To allow a new skip, add an entry: which tests (a glob over node ids), a pattern of the skip
message, the condition in words and as code.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class AllowedSkip:
    """One kind of skip the suite may take."""

    #: Glob over pytest node ids (``tests/e2e/test_kind_smoke.py::*``).
    tests: str
    #: A regular expression the skip message matches (``re.search``).
    reason: str
    #: When the skip is allowed, in words (printed in the skip table).
    condition: str
    #: The same condition as code, given the run's pytest config; evaluated when the skip is seen.
    holds: Callable[[pytest.Config], bool]


def _in_ci() -> bool:
    return bool(os.environ.get("CI"))


def _allure_cli_missing() -> bool:
    cache = os.environ.get("SPIN_HARNESS_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spin-harness"
    )
    bundled = Path(cache) / "node" / "node_modules" / ".bin" / "allure"
    return shutil.which("allure") is None and not bundled.exists()


def _docker_engine_missing() -> bool:
    from harness.images import engine

    return engine.engine_unavailable_reason() is not None


ALLOWED_SKIPS: tuple[AllowedSkip, ...] = (
    AllowedSkip(
        tests="tests/unit/test_allure_html.py::*",
        reason="no allure CLI",
        condition="outside CI, on a machine where scripts/setup could not install Allure's CLI",
        holds=lambda config: not _in_ci() and _allure_cli_missing(),
    ),
    AllowedSkip(
        tests="tests/e2e/test_kind_*.py::*",
        reason="kind provider unavailable",
        condition="outside CI, on a machine without a Docker engine",
        holds=lambda config: not _in_ci() and _docker_engine_missing(),
    ),
    AllowedSkip(
        tests="tests/e2e/test_kind_provider.py::*",
        reason=r"[Dd]ocker (engine|CLI)",
        condition="outside CI, on a machine without a Docker engine",
        holds=lambda config: not _in_ci() and _docker_engine_missing(),
    ),
    AllowedSkip(
        tests="tests/e2e/test_webhook_admission.py::*",
        reason="cannot reach webhooks on the host's loopback",
        condition="run with --provider naming a provider whose apiserver cannot call the host's loopback",
        holds=lambda config: bool(config.getoption("--provider", default=None)),
    ),
)
