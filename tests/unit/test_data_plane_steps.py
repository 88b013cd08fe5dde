"""The kind smoke test's reading of summary.json: a data-plane step skipped, missing or failed is named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.scenarios.load import discover, load_scenario
from tests.e2e.data_plane import DataPlaneStep, data_plane_steps, steps_not_run

ROOT = Path(__file__).resolve().parents[2]
PHASES = ("setup@v1.36.3", "verify@v1.36.3", "during@v1.37.2", "verify@v1.37.2", "teardown@v1.37.2")
TENANTS = ("alpha", "beta")


@pytest.fixture(scope="module")
def canonical() -> list[DataPlaneStep]:
    return data_plane_steps(discover(ROOT / "scenarios"))


def cell_where_every_step_ran(steps: list[DataPlaneStep]) -> dict[str, Any]:
    """A summary.json cell of the canonical scenarios in which each data-plane step passed for each tenant."""
    items = []
    for scenario in sorted({s.scenario for s in steps}):
        for phase in PHASES:
            results = [
                {"path": s.path, "title": s.title, "status": "passed", "seconds": 0.1, "message": "", "tenant": t}
                for s in steps
                if s.scenario == scenario and s.phase == phase.split("@")[0]
                for t in TENANTS
            ]
            items.append({"scenario": scenario, "phase": phase, "outcome": "passed", "steps": results})
    return {"id": "kind:v1.36.3>v1.37.2", "items": items}


def find(cell: dict[str, Any], scenario: str, phase: str, path: str) -> list[dict[str, Any]]:
    item = next(i for i in cell["items"] if i["scenario"] == scenario and i["phase"] == phase)
    return [r for r in item["steps"] if r["path"] == path]


def test_the_canonical_scenarios_data_plane_steps_are_the_four_data_paths(canonical: list[DataPlaneStep]) -> None:
    by_scenario = {s.scenario for s in canonical}
    assert by_scenario == {"admission-webhooks", "global-fs-mounts", "ingress", "workflows"}
    titles = " | ".join(s.title for s in canonical)
    for words in ("in-cluster webhook", "marker file through the mount", "HTTPS", "Job's pod printed"):
        assert words in titles, words
    assert all(s.phase != "during" or s.path.count("[") == 1 for s in canonical), "probes only, not their steps"


def test_a_cell_that_ran_every_data_plane_step_has_no_problem(canonical: list[DataPlaneStep]) -> None:
    assert steps_not_run(cell_where_every_step_ran(canonical), canonical) == []


def test_a_skipped_data_plane_step_is_named_with_its_reason(canonical: list[DataPlaneStep]) -> None:
    cell = cell_where_every_step_ran(canonical)
    https = next(s for s in canonical if s.scenario == "ingress" and s.phase == "verify")
    for result in find(cell, "ingress", "verify@v1.37.2", https.path):
        result["status"], result["message"] = "skipped", "needs ingress-data-path, which provider kind does not have"
    problems = steps_not_run(cell, canonical)
    assert len(problems) == 3, problems  # two tenants, and no tenant ran it
    assert all(p.startswith(f"{https} at verify@v1.37.2") for p in problems)
    assert "skipped: needs ingress-data-path, which provider kind does not have" in problems[0]


def test_a_probe_that_never_started_is_named(canonical: list[DataPlaneStep]) -> None:
    cell = cell_where_every_step_ran(canonical)
    probe = next(s for s in canonical if s.scenario == "ingress" and s.phase == "during")
    item = next(i for i in cell["items"] if i["scenario"] == "ingress" and i["phase"] == "during@v1.37.2")
    item["steps"] = [r for r in item["steps"] if r["path"] != probe.path]
    assert steps_not_run(cell, canonical) == [f"{probe} at during@v1.37.2: no result (the step did not run)"]


def test_a_skipped_or_missing_phase_is_named(canonical: list[DataPlaneStep]) -> None:
    cell = cell_where_every_step_ran(canonical)
    item = next(i for i in cell["items"] if i["scenario"] == "workflows" and i["phase"] == "verify@v1.37.2")
    item.update(outcome="skipped", message="cell cannot continue: upgrade hop failed", steps=[])
    (problem,) = steps_not_run(cell, canonical)
    assert "workflows verify[6]" in problem and "the item skipped: cell cannot continue" in problem
    gone = cell_where_every_step_ran(canonical)
    gone["items"] = [i for i in gone["items"] if i["scenario"] != "global-fs-mounts"]
    expected = [s for s in canonical if s.scenario == "global-fs-mounts"]
    assert steps_not_run(gone, canonical) == [f"{s}: the cell has no global-fs-mounts {s.phase} item" for s in expected]


def test_a_when_choice_for_one_tenant_is_allowed_but_not_for_all(canonical: list[DataPlaneStep]) -> None:
    cell = cell_where_every_step_ran(canonical)
    job = next(s for s in canonical if s.scenario == "workflows")
    alpha, beta = find(cell, "workflows", "verify@v1.36.3", job.path)
    alpha["status"], alpha["message"] = "skipped", "when: tenant.name != 'alpha' is false"
    assert steps_not_run(cell, canonical) == []
    beta["status"], beta["message"] = "skipped", "when: tenant.name != 'beta' is false"
    assert steps_not_run(cell, canonical) == [f"{job} at verify@v1.36.3: no tenant ran it"]


def test_steps_nested_in_a_data_plane_step_are_data_plane_steps(tmp_path: Path) -> None:
    directory = tmp_path / "nested"
    directory.mkdir()
    (directory / "scenario.yaml").write_text(
        "name: nested\ndescription: d\npromise: p.\n"
        "verify:\n"
        "  - assert: {kind: Namespace, name: default}\n"
        "  - name: as the tenant\n"
        "    requires: [real-containers]\n"
        "    as_user:\n"
        "      user: someone\n"
        "      steps: [{name: reads, assert: {kind: Namespace, name: default}}]\n"
    )
    steps = data_plane_steps([load_scenario(directory)])
    assert [(s.path, s.title, s.requires) for s in steps] == [
        ("verify[1]", "as the tenant", ("real-containers",)),
        ("verify[1].as_user.steps[0]", "reads", ("real-containers",)),
    ]
