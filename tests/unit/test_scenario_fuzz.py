"""Fuzzing the scenario loader: whatever is in scenario.yaml, only InputError reaches the user."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import InputError
from harness.scenarios.load import load_scenario

ROOT = Path(__file__).resolve().parents[2] / "scenarios"
SHIPPED = sorted(p.name for p in ROOT.iterdir() if (p / "scenario.yaml").is_file())
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False), st.text(max_size=12))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(SHIPPED))
    document = yaml.safe_load((ROOT / name / "scenario.yaml").read_text())
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from([p for p in _paths(document) if p]))
        parent = document
        for part in where[:-1]:
            parent = parent[part]
        if draw(st.booleans()):
            parent[where[-1]] = draw(VALUES)
        else:
            del parent[where[-1]]
    return name, yaml.safe_dump(document, allow_unicode=True)


def _load(name: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / name
        shutil.copytree(ROOT / name, target)
        (target / "scenario.yaml").write_text(text)
        try:
            load_scenario(target)
        except InputError as exc:
            assert str(target) in str(exc), f"error names no file: {exc}"


@SETTINGS
@given(mutated())
def test_mutated_scenarios_load_or_fail_with_input_error(case: tuple[str, str]) -> None:
    _load(*case)


@SETTINGS
@given(st.sampled_from(SHIPPED), st.text(max_size=300))
def test_garbage_scenario_files_are_input_errors(name: str, text: str) -> None:
    _load(name, text)
