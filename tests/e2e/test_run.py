"""``spin-harness run`` end to end: a real matrix, real clusters, exit codes and summary.json."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from harness.paths import scenarios_dir
from harness.run.cell_factory import available_scenarios
from harness.scenarios.load import discover
from harness.toolchain import goproxy
from harness.versions import KubeVersion
from tests.e2e.cli import spin
from tests.e2e.data_plane import data_plane_steps, steps_not_run

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def run_matrix(
    matrix: Path, report: Path, *extra: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return spin("run", str(matrix), "--report", str(report), *extra, timeout=1200, env=env_extra)


def write_matrix(
    path: Path,
    versions: tuple[KubeVersion, KubeVersion],
    *,
    outage: float,
    availability: float,
    exclude: str = "[]",
) -> Path:
    path.write_text(
        "name: planted\n"
        "providers: [local]\n"
        f'paths:\n  - hops: ["{versions[0]}", "{versions[1]}"]\n'
        f'scenarios:\n  include: ["*"]\n  exclude: {exclude}\n'
        "probes:\n  budget:\n"
        f"    api_max_outage_seconds: {outage}\n"
        f"    webhook_max_outage_seconds: {outage}\n"
        f"    ingress_max_outage_seconds: {outage}\n"
        f"    min_availability: {availability}\n"
    )
    return path


def test_smoke_style_run_passes_and_writes_summary(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    # The budget the smoke matrix gives local clusters: a passing run must stay within what users allow.
    matrix = write_matrix(tmp_path / "m.yaml", e2e_versions, outage=15, availability=0.25)
    result = run_matrix(matrix, tmp_path / "report")
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert summary["verdict"] == "passed"
    cell = summary["cells"][0]
    assert cell["id"] == f"local:{e2e_versions[0]}>{e2e_versions[1]}"
    phases = [item["nodeid"].split("::", 2)[2] for item in cell["items"]]
    assert phases[0] == f"cluster::create@{e2e_versions[0]}"
    assert f"upgrade::hop@{e2e_versions[1]}" in phases
    assert phases[-1] == f"cluster::delete@{e2e_versions[1]}"
    assert cell["hops"][0]["playbook"], "the upgrade playbook's events are recorded"
    # Every scenario of the suite ran each of its phases, and each passed.
    older, newer = e2e_versions
    scenario_phases = [f"setup@{older}", f"verify@{older}", f"during@{newer}", f"verify@{newer}", f"teardown@{newer}"]
    scenarios = available_scenarios()
    assert {"tenant-rbac", "admission-webhooks", "quotas"} <= set(scenarios)
    assert cell["scenarios"] == {name: dict.fromkeys(scenario_phases, "passed") for name in scenarios}
    assert {f"{name}::{phase}" for name in scenarios for phase in scenario_phases} <= set(phases)
    # The data-plane steps the local provider cannot run (probes during the hop included) are
    # each reported as not run, with the reason: what test_kind_smoke.py refuses in its kind cell.
    data_plane = data_plane_steps(discover(scenarios_dir()))
    not_run = steps_not_run(cell, data_plane)
    assert all(any(line.startswith(f"{step} at ") for line in not_run) for step in data_plane), not_run
    assert all("which provider local does not have" in line or "no tenant ran it" in line for line in not_run)
    # ... and the JUnit file CI dashboards read says the same, test case by test case
    # (class name ``<matrix file>.<cell>.<scenario>``, name ``<phase>@<version>``).
    junit = ElementTree.parse(tmp_path / "report" / "junit.xml")
    cases = {(c.get("classname", "").rsplit(".", 1)[-1], c.get("name")): c for c in junit.iter("testcase")}
    for name in scenarios:
        for phase in scenario_phases:
            outcome = [child.tag for child in cases[name, phase] if child.tag in ("failure", "error", "skipped")]
            assert outcome == [], (name, phase)


def test_planted_outage_makes_the_run_exit_1_and_names_it(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    # A budget of zero outage: the single local apiserver restarts during the hop, and the
    # disruption probe must see it.
    matrix = write_matrix(tmp_path / "m.yaml", e2e_versions, outage=0, availability=1.0, exclude='["*"]')
    result = run_matrix(matrix, tmp_path / "report")
    assert result.returncode == 1, result.stdout[-3000:]
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["verdict"] == "failed"
    # The platform failed, not the harness: no error anywhere, every failed step the platform's.
    assert summary["errors"] == [] and summary["cells"][0]["verdict"] == "failed"
    assert all(i["blame"] == "platform" for i in summary["cells"][0]["items"] if i["outcome"] == "failed")
    breaking = [f for f in summary["findings"] if f["severity"] == "breaking"]
    assert [f["kind"] for f in breaking] == ["disruption"]
    assert breaking[0]["subject"] == "kube-apiserver" and breaking[0]["evidence"]["outages"]
    assert summary["cells"][0]["repro"].startswith("spin-harness repro ")


def test_three_minors_two_hops_and_a_second_path_run_side_by_side(tmp_path: Path) -> None:
    """The nightly shape: the oldest of three minors upgraded twice in place, next to a one-hop
    cell, under ``-n 2`` (one worker per cell, no port or name clash)."""
    oldest, middle, newest = goproxy.newest_minors(3)
    matrix = tmp_path / "nightly.yaml"
    matrix.write_text(
        "name: nightly-like\n"
        "providers: [local]\n"
        f'paths:\n  - from: "{oldest}"\n    to: "{newest}"\n  - hops: ["{middle}", "{newest}"]\n'
        'scenarios:\n  include: ["tenant-rbac", "platform-crd", "admission-webhooks"]\n'
        "probes:\n  budget:\n    api_max_outage_seconds: 60\n    webhook_max_outage_seconds: 60\n"
        "    min_availability: 0.05\n"
    )
    result = run_matrix(matrix, tmp_path / "report", "-n", "2")
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    cells = {cell["id"]: cell for cell in summary["cells"]}
    long_path = f"local:{oldest}>{middle}>{newest}"
    assert set(cells) == {long_path, f"local:{middle}>{newest}"}
    assert [hop["label"] for hop in cells[long_path]["hops"]] == [f"{oldest}>{middle}", f"{middle}>{newest}"]
    assert all(cell["verdict"] == "passed" for cell in cells.values())


def test_four_cells_under_four_workers_do_not_clash(tmp_path: Path) -> None:
    """``-n 4``: four clusters at once, each with its own name, ports and state directory."""
    oldest, middle, newest = goproxy.newest_minors(3)
    matrix = tmp_path / "four.yaml"
    matrix.write_text(
        "name: four\nproviders: [local]\npaths:\n"
        f'  - hops: ["{oldest}", "{middle}"]\n  - hops: ["{middle}", "{newest}"]\n'
        f'  - {{from: "{oldest}", to: "{newest}"}}\n  - {{from: "{oldest}", to: "{newest}", nodes_lag: 1}}\n'
        'scenarios:\n  include: ["*"]\n  exclude: ["*"]\n'
        "probes:\n  budget: {api_max_outage_seconds: 60, webhook_max_outage_seconds: 60, min_availability: 0.05}\n"
    )
    result = run_matrix(matrix, tmp_path / "report", "-n", "4")
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert [c["verdict"] for c in summary["cells"]] == ["passed"] * 4
    assert len({c["id"] for c in summary["cells"]}) == 4


def test_a_matrix_whose_every_cell_is_skipped_exits_2(tmp_path: Path) -> None:
    matrix = tmp_path / "containers-only.yaml"
    matrix.write_text('name: containers-only\nproviders: [kind, k3d]\npaths:\n  - hops: ["1.36", "1.37"]\n')
    # No Docker engine at that address: neither container provider can run.
    no_engine = {"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    result = run_matrix(matrix, tmp_path / "report", env_extra=no_engine)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "nothing ran" in result.stderr and "no Docker engine answers" in result.stdout


def test_bad_matrix_exits_2_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('name: bad\nproviders: [local]\npaths:\n  - hops: ["1.35", "1.37"]\n')
    result = run_matrix(bad, tmp_path / "report")
    assert result.returncode == 2
    assert "bad.yaml:4" in result.stderr and "skips" in result.stderr
