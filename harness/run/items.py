"""pytest collection of a matrix: one item per cell x scenario step, in the order a cell runs.

Ids read like the matrix: ``local:v1.36.3>v1.37.2::tenant-rbac::verify@v1.37.2``. All items
of a cell carry ``xdist_group(cell id)``, so under ``--dist loadgroup`` a cell stays on one
worker (one cluster per cell) while different cells run in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.findings import Finding, Severity, has_breaking
from harness.matrix import Cell, Hop, Matrix
from harness.run.cell import DETECTORS, CellRun, HopRecord, ScenarioDriver
from harness.scenarios.results import PhaseResult

CELL_RUNS = pytest.StashKey[dict[str, CellRun]]()
MATRIX = pytest.StashKey[Matrix]()


class BreakingFindings(AssertionError):
    """A detector item fails with its breaking findings as the message."""


class MatrixFile(pytest.File):
    def collect(self) -> Iterator[pytest.Collector]:
        matrix = self.config.stash[MATRIX]
        cell_filter = self.config.getoption("--cell")
        provider_filter = self.config.getoption("--provider")
        from harness.matrix import select_cells

        for cell in select_cells(matrix, provider_filter, cell_filter):
            yield CellNode.from_parent(self, name=cell.id, cell=cell)


class CellNode(pytest.Collector):
    def __init__(self, *, cell: Cell, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cell = cell
        self.add_marker(pytest.mark.xdist_group(name=cell.id))

    def collect(self) -> Iterator[pytest.Item]:
        from harness.run.drivers import scenario_names

        cell = self.cell
        names = scenario_names(self.config.stash[MATRIX])
        first = cell.path.start
        last = cell.path.target

        def item(group: str, phase: str, version: object, action: Callable[[CellRun], Any]) -> pytest.Item:
            return CellItem.from_parent(
                self, name=f"{group}::{phase}@{version}", group=group, phase=phase, action=action
            )

        yield item("cluster", "create", first, CellRun.create)
        for name in names:
            yield item(name, "setup", first, _scenario_action(name, "setup", str(first)))
        if self.config.stash[MATRIX].workloads:
            yield item("workloads", "replay", first, CellRun.replay_workloads)
        for name in names:
            yield item(name, "verify", first, _scenario_action(name, "verify", str(first)))
        for hop in cell.path.hops:
            if hop.kind == "create":
                continue
            version = f"{hop.control_plane}" + "".join(f"+{m.component}@{m.to_version}" for m in hop.platform)
            yield item("upgrade", "hop", version, _hop_action(hop))
            yield item("cluster", "health", version, CellRun.health)
            for name in names:
                yield item(name, "during", version, _during_action(name))
            for name in names:
                yield item(name, "verify", version, _scenario_action(name, "verify", str(version)))
            for detector in DETECTORS:
                yield item("detectors", detector, version, _detector_action(detector))
        for name in reversed(names):
            yield item(name, "teardown", last, _scenario_action(name, "teardown", str(last)))
        yield item("cluster", "delete", last, CellRun.finish)


def _hop_action(hop: Hop) -> Callable[[CellRun], Any]:
    return lambda run: run.hop(hop)


def _driver(run: CellRun, name: str) -> ScenarioDriver:
    return next(s for s in run.scenarios if s.name == name)


def _scenario_action(name: str, phase: str, version: str) -> Callable[[CellRun], Any]:
    return lambda run: run.scenario_phase(_driver(run, name), phase, version)


def _during_action(name: str) -> Callable[[CellRun], Any]:
    def action(run: CellRun) -> Any:
        timelines = run.during_result(_driver(run, name))
        failed = [t for t in timelines if t.availability() < run.budget.min_availability]
        if failed:
            worst = ", ".join(f"{t.name}: {t.availability():.0%} available" for t in failed)
            raise AssertionError(f"probes of {name} failed during the hop: {worst}")
        return timelines

    return action


def _detector_action(detector: str) -> Callable[[CellRun], list[Finding]]:
    def action(run: CellRun) -> list[Finding]:
        findings = run.detect(detector)
        if has_breaking(findings):
            lines = [f"- [{f.severity}] {f.subject}: {f.detail}" for f in findings if f.severity is Severity.BREAKING]
            raise BreakingFindings(f"{detector}: {len(lines)} breaking finding(s)\n" + "\n".join(lines))
        return findings

    return action


def _allure_playbook_steps(hop: HopRecord) -> None:
    """Each ansible task of the hop becomes an Allure step with its status."""
    import allure

    for event in hop.playbook.events if hop.playbook else []:
        with allure.step(f"{event.task} [{event.status}, {event.seconds:.1f}s]"):
            if event.status == "failed":
                allure.attach(event.message, name="message", attachment_type=allure.attachment_type.TEXT)


def _allure_scenario_steps(result: PhaseResult) -> None:
    """Each step of a scenario phase becomes an Allure step: what ran, and why the others did not."""
    import allure

    for step in result.steps:
        who = f" [{step.tenant}]" if step.tenant else ""
        with allure.step(f"{step.title}{who} [{step.status.value}, {step.seconds:.2f}s]"):
            if step.message:
                allure.attach(step.message, name=step.status.value, attachment_type=allure.attachment_type.TEXT)


def _allure_attach_json(name: str, value: object) -> None:
    import json

    import allure

    allure.attach(json.dumps(value, indent=2, default=str), name=name, attachment_type=allure.attachment_type.JSON)


def stop_after(items: list[CellItem], phase: str) -> tuple[list[CellItem], list[CellItem]]:
    """Split each cell's items at the last one of ``phase`` (``setup``, ``verify@v1.36.3``...)."""
    kept: list[CellItem] = []
    dropped: list[CellItem] = []
    by_cell: dict[str, list[CellItem]] = {}
    for item in items:
        by_cell.setdefault(item.cell.id, []).append(item)
    for cell_items in by_cell.values():
        names = [i.name.split("::")[-1] for i in cell_items]
        matches = [n for n, name in enumerate(names) if phase in (name, name.split("@")[0])]
        if not matches:
            dropped.extend(cell_items)
            continue
        kept.extend(cell_items[: matches[-1] + 1])
        dropped.extend(cell_items[matches[-1] + 1 :])
    return kept, dropped


def strip_group_suffix(nodeid: str) -> str:
    """The node id as the matrix names it, without loadgroup's ``@<cell id>`` suffixes."""
    parts = nodeid.split("::")
    if len(parts) >= 2:
        while nodeid.endswith(f"@{parts[1]}"):
            nodeid = nodeid[: -len(parts[1]) - 1]
    return nodeid


class CellItem(pytest.Item):
    def __init__(self, *, group: str, phase: str, action: Callable[[CellRun], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.group = group
        self.phase = phase
        self.action = action
        self.cell: Cell = self.parent.cell  # type: ignore[union-attr]
        # Allure: the path is the epic, the scenario (or harness group) the feature, the cell the story.
        for label_type, value in (
            ("epic", self.cell.path.label),
            ("feature", group),
            ("story", self.cell.id),
            ("suite", self.cell.provider),
        ):
            self.add_marker(pytest.mark.allure_label(value, label_type=label_type))

    def cell_run(self) -> CellRun:
        runs = self.config.stash[CELL_RUNS]
        if self.cell.id not in runs:
            from harness.run.drivers import make_cell_run

            runs[self.cell.id] = make_cell_run(self.config, self.cell)
        return runs[self.cell.id]

    def runtest(self) -> None:
        from harness.providers import unavailable_reason

        missing = unavailable_reason(self.cell.provider)
        if missing:
            pytest.skip(f"provider {self.cell.provider} is not available here: {missing}")
        run = self.cell_run()
        if run.broken and not (self.group == "cluster" and self.phase == "delete"):
            pytest.skip(f"cell cannot continue: {run.broken}")
        try:
            result = self.action(run)
        except BaseException as exc:
            if not isinstance(exc, (pytest.skip.Exception, KeyboardInterrupt)):
                from harness.run.causes import classify

                self.user_properties.append(("cause", classify(exc)))
                if self.group in ("cluster", "upgrade"):
                    run.broken = f"{self.group} {self.phase} failed: {str(exc).splitlines()[0][:200]}"
            raise
        finally:
            if self.group in ("cluster", "upgrade"):  # enough to carry the cell's timings, not on every item
                self.user_properties.append(("timings", dict(run.timings)))
            if self.group == "upgrade" and self.phase == "hop" and run.hops:
                hop = run.hops[-1]
                _allure_playbook_steps(hop)
                self.user_properties.append(
                    (
                        "hop",
                        {
                            "label": hop.label,
                            "seconds": round(hop.seconds, 2),
                            "playbook": [vars(e) for e in (hop.playbook.events if hop.playbook else [])],
                            "timelines": [t.to_json() for t in hop.timelines],
                            "faults": hop.faults,
                        },
                    )
                )
            if self.group == "detectors" and run.hops:
                mine = [f.to_json() for f in run.hops[-1].findings if f.kind == self.phase]
                self.user_properties.append(("findings", mine))
                if mine:
                    _allure_attach_json(f"{self.phase} findings", mine)
        if self.group == "cluster" and self.phase == "delete" and isinstance(result, str):
            self.user_properties.append(("kubeconfig", result))
        if isinstance(result, PhaseResult):
            self.user_properties.append(("steps", [step.to_json() for step in result.steps]))
            _allure_scenario_steps(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (AssertionError, BreakingFindings)) or getattr(excinfo.value, "message", None):
            return f"{self.nodeid}: {excinfo.value}"
        return str(super().repr_failure(excinfo))
