"""Scoring of bench/detection.py: a failed gate is an error, never a miss; pluto must say the expected status."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.detection_corpus.cases import load_cases

CASES = {c.name: c for c in load_cases()}


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "detection.py"
    spec = importlib.util.spec_from_file_location("detection_bench", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _bench()


def test_gate_exit_2_or_harness_errors_are_errors() -> None:
    assert bench._gate_error(0, [], "") is None
    assert bench._gate_error(1, [], "") is None  # breaking findings: the gate ran
    assert "no apiserver" in bench._gate_error(2, [], "trace\nno apiserver\n")
    error = {"cell": "c1", "step": "upgrade", "cause": "harness", "reason": "etcd did not start"}
    assert "etcd did not start" in bench._gate_error(1, [error], "")


def test_an_errored_gate_row_reads_error_not_a_miss() -> None:
    case = CASES["cronjob-batch-v1beta1"]
    row = bench.Row(case, "v1.24.0", "v1.25.0", gate_error="exit 2: boom")
    cells = bench.table([row], markdown=True).splitlines()[2].strip("| ").split(" | ")
    assert cells[4] == "error"


def test_pluto_must_report_the_expected_status() -> None:
    case = CASES["cronjob-batch-v1beta1"]
    assert case.expect.pluto == ("removed",)
    assert bench.Row(case, "a", "b", pluto={"removed"}).pluto_caught()
    assert not bench.Row(case, "a", "b", pluto={"deprecated"}).pluto_caught()
    assert not bench.Row(case, "a", "b").pluto_caught()
    control = next(c for c in CASES.values() if c.is_control)
    assert bench.Row(control, "a", "b").pluto_caught()
    assert not bench.Row(control, "a", "b", pluto={"deprecated"}).pluto_caught()
    only_apiserver = next(c for c in CASES.values() if c.expect.gate and not c.expect.pluto)
    assert not bench.Row(only_apiserver, "a", "b", pluto={"deprecated"}).pluto_caught()


def test_a_hop_whose_gate_errored_fails_the_run_naming_the_hop_and_why() -> None:
    case = CASES["cronjob-batch-v1beta1"]
    ran = bench.Row(case, "v1.35.0", "v1.36.0", gate={"removed-api/breaking"})
    broke = bench.Row(case, "v1.36.0", "v1.37.0", gate_error="exit 2: no apiserver")
    assert bench.errored_hops([ran]) == {}
    assert bench.errored_hops([ran, broke]) == {"v1.36.0>v1.37.0": "exit 2: no apiserver"}
