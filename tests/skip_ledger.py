"""The skip ledger: a pytest plugin of this test suite that accounts for every skip.

It records each skip (at collection, setup or call), matches it against ``tests/allowed_skips.py``
and fails the run when a skip is not listed there or its condition does not hold now. The
table of skips taken, allowed or not, is printed at the end of the run so a reader of a CI log
sees what was not checked. Registered by ``tests/conftest.py`` as an object, with its state on
the object rather than in module globals.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

import pytest

from tests.allowed_skips import ALLOWED_SKIPS, AllowedSkip


@dataclass(frozen=True)
class SkipTaken:
    """One skip seen in this run and what the ledger made of it."""

    nodeid: str
    reason: str
    #: The entry that allows it, or None.
    allowed_by: AllowedSkip | None
    #: Why it is not allowed, when it is not.
    problem: str | None


def skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    """The skip message of a report (``Skipped: `` prefix removed)."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


def judge(nodeid: str, reason: str, config: pytest.Config, allowed: tuple[AllowedSkip, ...]) -> SkipTaken:
    """Match one skip against the allowed ones."""
    listed = [a for a in allowed if fnmatch.fnmatchcase(nodeid, a.tests) and re.search(a.reason, reason)]
    if not listed:
        return SkipTaken(nodeid, reason, None, "not listed in tests/allowed_skips.py")
    for entry in listed:
        if entry.holds(config):
            return SkipTaken(nodeid, reason, entry, None)
    return SkipTaken(nodeid, reason, listed[0], f"listed, but its condition does not hold: {listed[0].condition}")


class SkipLedger:
    """Collects skips during the run; fails the session on an unaccounted one."""

    def __init__(self, config: pytest.Config, allowed: tuple[AllowedSkip, ...] = ALLOWED_SKIPS) -> None:
        self.config = config
        self.allowed = allowed
        self.taken: list[SkipTaken] = []

    def _record(self, report: pytest.CollectReport | pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            self.taken.append(judge(report.nodeid, skip_reason(report), self.config, self.allowed))

    @pytest.hookimpl
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._record(report)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._record(report)

    @property
    def unaccounted(self) -> list[SkipTaken]:
        return [s for s in self.taken if s.problem is not None]

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.unaccounted and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.taken:
            return
        terminalreporter.section("skips taken (tests/allowed_skips.py)")
        for skip in self.taken:
            verdict = "NOT ALLOWED" if skip.problem else "allowed"
            terminalreporter.line(f"{verdict:11} {skip.nodeid}: {skip.reason}")
            why = skip.problem or f"allowed: {skip.allowed_by.condition if skip.allowed_by else ''}"
            terminalreporter.line(f"{'':11}   {why}")
        if self.unaccounted:
            terminalreporter.line(
                f"{len(self.unaccounted)} skip(s) not accounted for: the run fails "
                "(list a legitimate skip in tests/allowed_skips.py with its condition)",
                red=True,
            )
