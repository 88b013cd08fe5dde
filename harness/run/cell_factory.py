"""Building a cell's ``CellRun`` from the pytest configuration: its provider, its scenarios'
drivers (found under the scenarios folder), budget, allow-list and faults."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.allowlist import load_allowlist
from harness.matrix import Cell, Matrix, select_scenarios
from harness.paths import scenarios_dir
from harness.providers import ClusterProvider, get_provider
from harness.run.cell import CellRun
from harness.run.faults import Fault
from harness.run.progress_plugin import progress_of
from harness.run.scenario_driver import ScenarioDriver
from harness.run.stash import MATRIX


def scenarios_root() -> Path:
    return scenarios_dir()


def available_scenarios() -> list[str]:
    root = scenarios_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "scenario.yaml").is_file())


def scenario_names(matrix: Matrix) -> list[str]:
    return select_scenarios(matrix.scenarios, available_scenarios())


def scenario_drivers(names: list[str], cell: Cell, provider: ClusterProvider | None = None) -> list[ScenarioDriver]:
    from harness.scenarios.driver import drivers_for

    provider = provider or get_provider(cell.provider)
    drivers: list[ScenarioDriver] = list(
        drivers_for(
            [scenarios_root() / n for n in names],
            provider=cell.provider,
            capabilities=provider.capabilities.names(),
            params=provider.scenario_defaults(),
            service_host=provider.service_host,
        )
    )
    return drivers


def make_cell_run(config: pytest.Config, cell: Cell) -> CellRun:
    matrix = config.stash[MATRIX]
    progress = progress_of(config)
    provider = get_provider(cell.provider, progress=progress)
    names = scenario_names(matrix)
    drivers = scenario_drivers(names, cell, provider) if names else []
    report_dir = Path(config.getoption("--report-dir") or "reports/latest")
    return CellRun(
        cell,
        provider,
        drivers,
        matrix.budget_for(cell.provider),
        report_dir / "artifacts",
        keep=bool(config.getoption("--keep-clusters")),
        components=matrix.components,
        workloads=matrix.workloads,
        allowlist=load_allowlist(matrix.allowlist) if matrix.allowlist else None,
        faults=[Fault.parse(spec) for spec in config.getoption("--inject-fault") or []],
        progress=progress,
        # A quiet instance of its own: the scratch cluster starts on a thread beside the cell's work.
        scratch_provider=get_provider(cell.provider) if provider.capabilities.background_create else None,
    )
