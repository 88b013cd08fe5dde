"""pytest collection of a matrix: one item per cell x scenario step, in the order a cell runs.

Ids read like the matrix: ``local:v1.36.3>v1.37.2::tenant-rbac::verify@v1.37.2`` (built by
``harness.run.identity.ItemId``). All items of a cell carry ``xdist_group(cell id)``, so under
``--dist loadgroup`` a cell stays on one worker (one cluster per cell) while different cells
run in parallel. Detector items follow ``harness.detectors.registry``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.detectors.registry import DETECTORS
from harness.findings import Finding, Severity, has_breaking
from harness.matrix import Cell, Hop, select_cells
from harness.providers import unavailable_reason
from harness.report.serialise import attach_to_allure, junit_properties
from harness.run.causes import classify
from harness.run.cell import CellRun
from harness.run.cell_factory import make_cell_run, scenario_names
from harness.run.hop_record import HopRecord
from harness.run.identity import Group, ItemId, Phase
from harness.run.records import HopReport, ItemRecord
from harness.run.scenario_driver import ScenarioDriver
from harness.run.stash import CELL_RUNS, MATRIX, RECORD
from harness.scenarios.results import PhaseResult

Action = Callable[[CellRun], Any]


class BreakingFindings(AssertionError):
    """A detector item fails with its breaking findings as the message."""


class ProbesFailed(AssertionError):
    """A during item fails: a probe's availability was below the budget. Carries the phase's
    result, so the report still shows which probes ran."""

    def __init__(self, message: str, result: PhaseResult | None) -> None:
        super().__init__(message)
        self.result = result


class MatrixFile(pytest.File):
    def collect(self) -> Iterator[pytest.Collector]:
        matrix = self.config.stash[MATRIX]
        cell_filter = self.config.getoption("--cell")
        provider_filter = self.config.getoption("--provider")
        for cell in select_cells(matrix, provider_filter, cell_filter):
            yield CellNode.from_parent(self, name=cell.id, cell=cell)


class CellNode(pytest.Collector):
    def __init__(self, *, cell: Cell, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cell = cell
        self.add_marker(pytest.mark.xdist_group(name=cell.id))

    def collect(self) -> Iterator[pytest.Item]:
        matrix = self.config.stash[MATRIX]
        for identity, action in cell_plan(self.cell, scenario_names(matrix), workloads=bool(matrix.workloads)):
            yield CellItem.from_parent(self, name=identity.name, identity=identity, action=action)


def cell_plan(cell: Cell, names: list[str], *, workloads: bool) -> Iterator[tuple[ItemId, Action]]:
    """Every item of a cell, in the order it runs, with what it does: ``names`` are the
    scenarios, ``workloads`` whether the matrix replays workload exports."""
    first, last = str(cell.path.start), str(cell.path.target)

    def at(group: str, phase: str, version: str) -> ItemId:
        return ItemId(cell.id, group, phase, version)

    yield at(Group.CLUSTER, Phase.CREATE, first), CellRun.create
    for name in names:
        yield at(name, Phase.SETUP, first), _scenario_action(name, Phase.SETUP, first)
    if workloads:
        yield at(Group.WORKLOADS, Phase.REPLAY, first), CellRun.replay_workloads
    for name in names:
        yield at(name, Phase.VERIFY, first), _scenario_action(name, Phase.VERIFY, first)
    for hop in cell.path.hops:
        if hop.kind == "create":
            continue
        version = f"{hop.control_plane}" + "".join(f"+{m.component}@{m.to_version}" for m in hop.platform)
        yield at(Group.UPGRADE, Phase.HOP, version), _hop_action(hop)
        yield at(Group.CLUSTER, Phase.HEALTH, version), CellRun.health
        for name in names:
            yield at(name, Phase.DURING, version), _during_action(name)
        for name in names:
            yield at(name, Phase.VERIFY, version), _scenario_action(name, Phase.VERIFY, version)
        for detector in DETECTORS:
            yield at(Group.DETECTORS, detector.name, version), _detector_action(detector.name)
    for name in reversed(names):
        yield at(name, Phase.TEARDOWN, last), _teardown_action(name, last)
    yield at(Group.CLUSTER, Phase.DELETE, last), CellRun.finish


def _hop_action(hop: Hop) -> Action:
    return lambda run: run.hop(hop)


def _driver(run: CellRun, name: str) -> ScenarioDriver:
    return next(s for s in run.scenarios if s.name == name)


def _scenario_action(name: str, phase: str, version: str) -> Action:
    return lambda run: run.scenario_phase(_driver(run, name), phase, version)


def _teardown_action(name: str, version: str) -> Action:
    return lambda run: run.teardowns.result(_driver(run, name), version)


def _during_action(name: str) -> Action:
    def action(run: CellRun) -> PhaseResult | None:
        timelines, result = run.during_result(_driver(run, name))
        failed = [t for t in timelines if t.availability() < run.budget.min_availability]
        if failed:
            worst = ", ".join(f"{t.name}: {t.availability():.0%} available" for t in failed)
            raise ProbesFailed(f"probes of {name} failed during the hop: {worst}", result)
        return result

    return action


def _detector_action(detector: str) -> Callable[[CellRun], list[Finding]]:
    def action(run: CellRun) -> list[Finding]:
        findings = run.detect(detector)
        if has_breaking(findings):
            lines = [f"- [{f.severity}] {f.subject}: {f.detail}" for f in findings if f.severity is Severity.BREAKING]
            raise BreakingFindings(f"{detector}: {len(lines)} breaking finding(s)\n" + "\n".join(lines))
        return findings

    return action


def hop_report(hop: HopRecord) -> HopReport:
    return HopReport(
        label=hop.label,
        seconds=round(hop.seconds, 2),
        playbook=[vars(e) for e in (hop.playbook.events if hop.playbook else [])],
        timelines=[t.to_json() for t in hop.timelines],
        faults=hop.faults,
        release_notes=hop.release_notes,
    )


def stop_after(items: list[CellItem], phase: str) -> tuple[list[CellItem], list[CellItem]]:
    """Split each cell's items at the last one of ``phase`` (``setup``, ``verify@v1.36.3``...)."""
    kept: list[CellItem] = []
    dropped: list[CellItem] = []
    by_cell: dict[str, list[CellItem]] = {}
    for item in items:
        by_cell.setdefault(item.identity.cell, []).append(item)
    for cell_items in by_cell.values():
        matches = [n for n, i in enumerate(cell_items) if phase in (i.identity.step, i.identity.phase)]
        if not matches:
            dropped.extend(cell_items)
            continue
        kept.extend(cell_items[: matches[-1] + 1])
        dropped.extend(cell_items[matches[-1] + 1 :])
    return kept, dropped


class CellItem(pytest.Item):
    def __init__(self, *, identity: ItemId, action: Action, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.identity = identity
        self.action = action
        self.cell: Cell = self.parent.cell  # type: ignore[union-attr]
        self.stash[RECORD] = ItemRecord(identity, self.nodeid)
        # Allure: the path is the epic, the scenario (or harness group) the feature, the cell the story.
        for label_type, value in (
            ("epic", self.cell.path.label),
            ("feature", identity.group),
            ("story", self.cell.id),
            ("suite", self.cell.provider),
        ):
            self.add_marker(pytest.mark.allure_label(value, label_type=label_type))

    def cell_run(self) -> CellRun:
        runs = self.config.stash[CELL_RUNS]
        if self.cell.id not in runs:
            runs[self.cell.id] = make_cell_run(self.config, self.cell)
        return runs[self.cell.id]

    def runtest(self) -> None:
        missing = unavailable_reason(self.cell.provider)
        if missing:
            pytest.skip(f"provider {self.cell.provider} is not available here: {missing}")
        run = self.cell_run()
        identity, record = self.identity, self.stash[RECORD]
        if run.broken and not identity.is_cell_delete:
            pytest.skip(f"cell cannot continue: {run.broken}")
        if identity.phase == Phase.TEARDOWN:  # the first starts every selected one (harness.run.teardowns)
            run.teardowns.start(identity.version, self._cell_teardowns())
        try:
            try:
                result = self.action(run)
            except BaseException as exc:
                partial = getattr(exc, "result", None)  # StepFailed, ProbesFailed: the steps up to the failure
                if isinstance(partial, PhaseResult):
                    record.steps = [step.to_json() for step in partial.steps]
                if not isinstance(exc, (pytest.skip.Exception, KeyboardInterrupt)):
                    record.cause = classify(exc)
                    if identity.breaks_cell:
                        run.broken = f"{identity.group} {identity.phase} failed: {str(exc).splitlines()[0][:200]}"
                raise
            finally:
                self._record_cell_state(run, record)
            if identity.is_cell_delete and isinstance(result, str):
                record.kubeconfig = result
            if isinstance(result, PhaseResult):
                record.steps = [step.to_json() for step in result.steps]
        finally:
            self.user_properties.extend(junit_properties(record))
            attach_to_allure(record)

    def _cell_teardowns(self) -> list[str]:
        """The scenarios of this cell whose teardown items are selected (they run together)."""
        return [
            item.identity.group
            for item in self.session.items
            if isinstance(item, CellItem) and item.cell.id == self.cell.id and item.identity.phase == Phase.TEARDOWN
        ]

    def _record_cell_state(self, run: CellRun, record: ItemRecord) -> None:
        """What the cell's state says about this item, whether it passed or not."""
        group = self.identity.group
        if self.identity.breaks_cell:  # enough to carry the cell's timings, not on every item
            record.timings = dict(run.timings)
        if group == Group.UPGRADE and self.identity.phase == Phase.HOP and run.hops:
            record.hop = hop_report(run.hops[-1])
        if group == Group.DETECTORS and run.hops:
            record.findings = [f for f in run.hops[-1].findings if f.kind == self.identity.phase]

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (AssertionError, BreakingFindings)) or getattr(excinfo.value, "message", None):
            return f"{self.nodeid}: {excinfo.value}"
        return str(super().repr_failure(excinfo))
