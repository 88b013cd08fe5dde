"""Progress of a matrix run: which cell, which phase, which detector, then the report.

``run_pytest_on_matrix`` hands pytest this plugin object with the command's display. Item-level
lines come from ``pytest_runtest_logstart``/``logreport``, hooks pytest-xdist also calls on the
controlling process for items its workers run, so a parallel run shows every item starting
(and the display's heartbeat keeps it alive) though not the steps inside one. Without xdist
the cell runs in this very process, and ``progress_of`` gives its provider and ``CellRun`` the
display too: cluster creation steps, the playbook's tasks, each detector's snapshot.
"""

from __future__ import annotations

import pytest

from harness.progress import ProgressFn, no_progress
from harness.run.stash import PROGRESS


def item_label(nodeid: str) -> str:
    """``local:v1.36.3>v1.37.2: cluster create@v1.36.3`` from a matrix item's node id.

    A node id is ``<matrix file>::<cell>::<group>::<phase>@<version>``; anything else (a test
    of a suite using the plugin) is shown as it is.
    """
    head, sep, step = nodeid.rpartition("::")
    cell_part, sep2, group = head.rpartition("::")
    _file, sep3, cell = cell_part.partition("::")
    if not (sep and sep2 and sep3 and cell):
        return nodeid
    return f"{cell}: {group} {step}"


def _shorten(text: str, limit: int = 160) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


class ProgressPlugin:
    """Reports a matrix run's items through ``progress`` as pytest runs them."""

    def __init__(self, progress: ProgressFn) -> None:
        self.progress = progress
        self.failed = 0
        self._last_skip = ""

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[PROGRESS] = self.progress

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.progress("collecting the matrix's items")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        cells = {item_label(item.nodeid).partition(": ")[0] for item in session.items}
        self.progress(f"{len(session.items)} items in {len(cells)} cell(s)")

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.progress(item_label(nodeid))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        label = item_label(report.nodeid)
        if report.failed:
            self.failed += 1
            self.progress(f"{label}: FAILED ({report.when})")
        elif report.skipped and report.when != "teardown":
            reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""
            reason = reason.removeprefix("Skipped: ")
            # A broken cell skips all its later items for one reason: say it once.
            shown = "(the same reason)" if reason == self._last_skip else _shorten(reason)
            self._last_skip = reason
            self.progress(f"{label}: skipped {shown}".rstrip())

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        failed = f", {self.failed} failed" if self.failed else ""
        self.progress(f"items done{failed}; removing clusters, writing the report")


def progress_of(config: pytest.Config) -> ProgressFn:
    """The display of the command running this pytest in-process; nothing on an xdist worker
    (its output would tear the controller's display) or in a plain pytest run."""
    return config.stash.get(PROGRESS, no_progress)
