"""The pytest plugin object of a matrix run (``--matrix``): collection, reports, the summary.

Registered by ``harness.plugin`` with ``config.pluginmanager.register`` when a matrix is given,
as pytest's own junitxml plugin is: the run's state lives on this object and in
``config.stash`` (``harness.run.stash``), not in module globals. On a pytest-xdist worker it
collects and runs items; on the controlling process it also builds ``summary.json`` from the
item records the reports carry, and writes the reports at the end.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from dataclasses import replace
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.matrix import Matrix
from harness.report.allure_html import write_allure_html
from harness.report.html import write_html
from harness.report.serialise import REPORT_ATTRIBUTE, from_wire, summary_entry, to_wire
from harness.run.causes import WORKER_CRASH
from harness.run.items import CellItem, MatrixFile, stop_after
from harness.run.stash import CELL_RUNS, MATRIX, RECORD
from harness.run.summary import ItemResult, Summary
from harness.session_cleanup import removal_failed
from harness.workloads.read import read_workloads

NAME = "spin-harness-matrix"


class MatrixPlugin:
    def __init__(self, config: pytest.Config, matrix_option: str, matrix: Matrix) -> None:
        self.config = config
        #: ``--matrix`` as given: the repro command and the summary name it so.
        self.matrix_option = matrix_option
        self.matrix_path = Path(matrix_option)
        config.stash[MATRIX] = matrix
        config.stash[CELL_RUNS] = {}
        #: Only the controlling process writes the summary (workers send it their reports).
        self.summary = None if hasattr(config, "workerinput") else Summary(matrix=matrix_option)
        if self.summary is not None and matrix.workloads:
            # Read here too, so input that was not read (other file types, hidden files) is in the summary.
            found = read_workloads(matrix.workloads)
            self.summary.workload_inputs = found.to_json()
            for note in found.notes():
                print(f"spin-harness: workloads: {note}", file=sys.stderr)
        self.report_dir = Path(config.getoption("--report-dir") or "reports/latest")

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        if file_path.resolve() == self.matrix_path.resolve():
            return MatrixFile.from_parent(parent, path=file_path)
        return None

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        until = config.getoption("--until")
        if not until:
            return
        cell_items = [i for i in items if isinstance(i, CellItem)]
        kept, dropped = stop_after(cell_items, until)
        if not kept:
            phases = sorted({i.identity.step for i in cell_items})
            raise pytest.UsageError(str(InputError(f"--until: no phase {until!r}", hint=f"one of {', '.join(phases)}")))
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if not isinstance(item, CellItem):
            return report
        record = item.stash[RECORD]
        if report.failed:
            record = replace(record, repro=f"spin-harness repro '{item.cell.id}' --matrix {self.matrix_option}")
            run = item.cell_run()
            if not run.artifacts_collected:
                run.artifacts_collected = True
                try:
                    path = run.collect_artifacts(f"{item.nodeid} failed")
                except Exception as exc:  # artifacts are best effort; the failure itself is reported
                    path = None
                    report.sections.append(("spin-harness", f"could not collect artifacts: {exc}"))
                if path is not None:
                    record = replace(record, artifacts=str(path))
        setattr(report, REPORT_ATTRIBUTE, to_wire(record))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if self.summary is None:
            return
        if data is None:
            crashed = crash_result(report, [cell.id for cell in self.config.stash[MATRIX].cells])
            if crashed is not None:
                self.summary.add(crashed, {})
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            message = ""
            if report.failed:
                message = _clip(str(report.longrepr))
            elif report.skipped and isinstance(report.longrepr, tuple):
                message = str(report.longrepr[2])
            self.summary.add(*summary_entry(from_wire(data), report.outcome, report.duration, message))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        for run in self.config.stash.get(CELL_RUNS, {}).values():
            try:
                note = run.finish()
            except Exception as exc:  # keep removing the other cells' clusters; the session fails
                removal_failed(self.config)(f"the cluster of {run.cell.id}: {exc}")
                continue
            if note:
                print(f"\n{run.cell.id}: {note}", file=sys.stderr)
                if self.summary is not None:
                    data = self.summary.cell_data.setdefault(
                        run.cell.id, {"findings": [], "hops": [], "timings": {}, "repro": ""}
                    )
                    data["kubeconfig"] = note
        if self.summary is not None and not self.config.option.collectonly:
            path = self.summary.write(self.report_dir)
            page = write_html(self.report_dir)
            _allure_page, allure_note = write_allure_html(self.report_dir)
            print(f"\nspin-harness: summary written to {path}; report {page}; {allure_note}", file=sys.stderr)


def _clip(message: str, head: int = 1000, tail: int = 3000) -> str:
    """A failure message cut to size: its start says what failed, its end why (a traceback's
    exception, a log's last lines), so both are kept."""
    if len(message) <= head + tail:
        return message
    return f"{message[:head]}\n[... {len(message) - head - tail} characters ...]\n{message[-tail:]}"


def crash_result(report: pytest.TestReport, cell_ids: list[str]) -> ItemResult | None:
    """The summary entry of an item whose pytest-xdist worker died running it, else ``None``.

    The controlling process makes that report itself (``when`` is ``"???"``): no record came
    back from the worker, only the node id, so the cell and step are read from it here, the
    one place an id is taken apart. The cell's other items run again on a new worker.
    """
    if not report.failed or report.when not in ("???", None):
        return None
    nodeid = report.nodeid
    for cell in sorted(cell_ids, key=len, reverse=True):
        marker = f"::{cell}::"
        if marker not in nodeid:
            continue
        name = nodeid.split(marker, 1)[1].removesuffix(f"@{cell}")
        group, _, step = name.partition("::")
        return ItemResult(nodeid, cell, group, step, "failed", 0.0, str(report.longrepr), cause=WORKER_CRASH)
    return None
