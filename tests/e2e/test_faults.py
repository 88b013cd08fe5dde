"""Faults during a hop: the faulty cell fails with a classified cause and artifacts; the others go on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.versions import KubeVersion
from tests.e2e.test_run import run_matrix

pytestmark = pytest.mark.e2e


def two_cell_matrix(path: Path, versions: tuple[KubeVersion, KubeVersion]) -> Path:
    older, newer = versions
    path.write_text(
        "name: faults\nproviders: [local]\n"
        f'paths:\n  - hops: ["{older}", "{newer}"]\n  - from: "{older}"\n    to: "{newer}"\n    nodes_lag: 1\n'
        'scenarios:\n  include: ["*"]\n  exclude: ["*"]\n'
        "probes:\n  budget: {api_max_outage_seconds: 60, min_availability: 0.05}\n"
    )
    return path


def test_component_killed_mid_hop_fails_only_that_cell(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    matrix = two_cell_matrix(tmp_path / "m.yaml", e2e_versions)
    # kwok is not restarted by an upgrade: killing it mid-hop leaves a dead component behind.
    result = run_matrix(matrix, tmp_path / "report", "--inject-fault", "kill:kwok:1@*~nodes-lag=1")
    assert result.returncode == 1, result.stdout[-3000:]
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    verdicts = {c["id"]: c["verdict"] for c in summary["cells"]}
    faulty = next(cell for cell in verdicts if cell.endswith("~nodes-lag=1"))
    healthy = next(cell for cell in verdicts if cell != faulty)
    assert verdicts == {faulty: "failed", healthy: "passed"}
    cell = next(c for c in summary["cells"] if c["id"] == faulty)
    failed = [i for i in cell["items"] if i["outcome"] == "failed"]
    # The upgrade itself notices the dead component before the health check after it.
    assert failed[0]["scenario"] in ("upgrade", "cluster") and failed[0]["cause"] == "component-crash"
    assert "kwok is not running" in failed[0]["message"]
    assert cell["hops"][0]["faults"][0].startswith("kill kwok")
    artifacts = Path(cell["artifacts"])
    assert (artifacts / "kube-apiserver.log").is_file() and (artifacts / "audit.log").is_file()
    healthy_items = next(c for c in summary["cells"] if c["id"] == healthy)["items"]
    assert healthy_items[-1]["phase"].startswith("delete") and healthy_items[-1]["outcome"] == "passed"


def test_bad_fault_spec_exits_2(tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]) -> None:
    matrix = two_cell_matrix(tmp_path / "m.yaml", e2e_versions)
    result = run_matrix(matrix, tmp_path / "report", "--inject-fault", "explode:etcd")
    assert result.returncode == 2 and "ACTION:COMPONENT:SECONDS" in result.stderr
