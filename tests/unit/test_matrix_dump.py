"""A matrix spec built in Python and written with ``dump_matrix`` loads back as the same spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.yamlfile import load_yaml, parse_model
from harness.matrix.dump import dump_matrix, write_matrix
from harness.matrix.spec import (
    ComponentSpec,
    MatrixSpec,
    PathSpec,
    PlatformSpec,
    PlatformStepSpec,
    ProbeBudget,
    ProbesSpec,
    ScenarioSelectionSpec,
    WorkloadSpec,
)

MATRICES = Path(__file__).resolve().parents[2] / "matrices"


def reload(path: Path) -> MatrixSpec:
    return parse_model(MatrixSpec, load_yaml(path))


def test_everything_a_spec_can_say_survives_a_round_trip(tmp_path: Path) -> None:
    spec = MatrixSpec(
        name="round-trip",
        description="every field, with values YAML would misread if unquoted",
        providers=["local", "kind"],
        paths=[
            PathSpec.between("1.30", "v1.32.1"),
            PathSpec(hops=["1.35", "1.36", "1.37"], nodes_lag=1, platform_steps=[]),
        ],
        scenarios=ScenarioSelectionSpec(include=["tenant-*", "none-?"], exclude=["slow-*"]),
        probes=ProbesSpec(
            budget=ProbeBudget(api_max_outage_seconds=15, min_availability=0.05),
            provider_budgets={"kind": ProbeBudget(api_max_outage_seconds=90.5)},
        ),
        platform=PlatformSpec(
            components={"platform-crd": ComponentSpec(versions=["2026.1", "2026.10", "yes"])},
            steps=[PlatformStepSpec(at_hop=1, component="platform-crd", to="2026.10", with_kubernetes=True)],
        ),
        workloads=[
            WorkloadSpec(path=str(tmp_path / "tenants with spaces")),
            WorkloadSpec(path="../relative"),
            WorkloadSpec(chart="charts/shop", values=["prod.yaml", "on: yes.yaml"]),
        ],
        allowlist="allowlist.yaml",
    )
    assert reload(write_matrix(spec, tmp_path / "nested" / "m.yaml")) == spec


def test_only_what_differs_from_the_defaults_is_written() -> None:
    text = dump_matrix(MatrixSpec(name="small", providers=["local"], paths=[PathSpec.between("1.36", "1.37")]))
    assert text == "name: small\nproviders:\n- local\npaths:\n- from: '1.36'\n  to: '1.37'\n"


def test_an_empty_step_list_is_kept_because_it_overrides_the_platform_steps(tmp_path: Path) -> None:
    spec = MatrixSpec(name="m", providers=["local"], paths=[PathSpec(hops=["1.36", "1.37"], platform_steps=[])])
    assert "platform_steps: []" in dump_matrix(spec)
    assert reload(write_matrix(spec, tmp_path / "m.yaml")).paths[0].platform_steps == []


@pytest.mark.parametrize("name", sorted(p.name for p in MATRICES.glob("*.yaml")))
def test_shipped_matrices_survive_a_round_trip(tmp_path: Path, name: str) -> None:
    spec = reload(MATRICES / name)
    assert reload(write_matrix(spec, tmp_path / name)) == spec
