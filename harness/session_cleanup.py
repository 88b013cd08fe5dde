"""The cleanup every pytest session owes: what dead runs left behind is collected when the
session starts, and a cluster the session could not remove is reported when it ends.

Registered by ``harness.plugin`` for every session. At the start, the controlling process (not
pytest-xdist workers, which start after it) runs ``gc.collect_dead_owners``: clusters, build
containers and service directories whose owner process is gone, never those of a live process.
What it removed is printed at once and again in the terminal summary.

Removal failures of the session's own clusters (a fixture's teardown, a matrix cell's end) are
handed to ``removal_failed``; the session then ends with a "spin-harness cleanup" warning
section and a non-zero exit status, so a cluster left running is never silent. Workers send
theirs to the controlling process in ``workeroutput``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

NAME = "spin-harness-cleanup"
#: The ``workeroutput`` key a pytest-xdist worker sends its removal failures under.
WORKER_KEY = "spin_harness_removal_failures"


class SessionCleanup:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        #: ``what: why`` of each thing collected at the start.
        self.collected: list[str] = []
        #: What could not be collected at the start (a warning: another run's leftovers).
        self.collect_failed: list[str] = []
        #: The session's own clusters it could not remove (fails the session).
        self.removal_failures: list[str] = []

    @property
    def on_worker(self) -> bool:
        return hasattr(self.config, "workerinput")

    def removal_failed(self, message: str) -> None:
        """Record that something the session made could not be removed."""
        self.removal_failures.append(message)

    def _say(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line)
        else:
            print(line, file=sys.stderr)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # tryfirst: before pytest-xdist starts its workers, so none of them races the sweep.
        if self.on_worker or self.config.option.collectonly:
            return
        from harness.gc import collect_dead_owners

        sweep = collect_dead_owners()
        self.collected = [f"{item.what} ({item.reason})" for item in sweep.collected]
        self.collect_failed = sweep.failed
        for line in self.collected:
            self._say(f"spin-harness: collected {line}")
        for line in self.collect_failed:
            self._say(f"spin-harness: could not collect {line}")

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: object, error: object) -> None:
        output = getattr(node, "workeroutput", None) or {}
        self.removal_failures.extend(output.get(WORKER_KEY, []))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # trylast: after the matrix plugin has removed its cells' clusters.
        if self.on_worker:
            self.config.workeroutput[WORKER_KEY] = list(self.removal_failures)  # type: ignore[attr-defined]
            return
        if self.removal_failures and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.removal_failures and self.config.pluginmanager.get_plugin("terminalreporter") is None:
            for line in self.removal_failures:
                print(f"spin-harness: could not remove {line}", file=sys.stderr)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.on_worker or not (self.collected or self.collect_failed or self.removal_failures):
            return
        terminalreporter.section("spin-harness cleanup", yellow=True, bold=True)
        for line in self.collected:
            terminalreporter.write_line(f"collected at the start, its owner being gone: {line}")
        for line in self.collect_failed:
            terminalreporter.write_line(f"WARNING could not collect at the start: {line}", yellow=True)
        for line in self.removal_failures:
            terminalreporter.write_line(f"WARNING could not remove {line}", red=True)
        if self.removal_failures:
            terminalreporter.write_line(
                "the session fails: remove what is left with 'spin-harness gc' once its cause is fixed", red=True
            )


def removal_failed(config: pytest.Config) -> Callable[[str], None]:
    """Where a fixture or a matrix cell reports something it could not remove: the session's
    ``SessionCleanup`` (``harness.plugin`` registers it in every session it is loaded in)."""
    cleanup = config.pluginmanager.get_plugin(NAME)
    return cleanup.removal_failed if isinstance(cleanup, SessionCleanup) else lambda _message: None
