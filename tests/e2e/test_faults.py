"""Faults during a hop: the faulty cell fails with a classified cause and artifacts; the others go on."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from harness.versions import KubeVersion
from tests.e2e.test_cleanup import gc_and_check, marked_here
from tests.e2e.test_run import run_matrix, write_matrix

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
    assert result.returncode == 2 and "ACTION:COMPONENT:WHEN" in result.stderr


def test_an_apiserver_frozen_past_the_smoke_budget_is_a_breaking_outage(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    """The smoke file's budget (15 s without the API, 25% availability), and a hop whose new
    apiserver hangs for 25 s as soon as the upgrade has started it: the run must say so."""
    matrix = write_matrix(tmp_path / "m.yaml", e2e_versions, outage=15, availability=0.25, exclude='["*"]')
    try:
        result = run_matrix(matrix, tmp_path / "report", "--inject-fault", "stop:kube-apiserver:replaced+0:25")
        # Nothing stays frozen, nothing stays running: the hop thawed it, the cell removed it.
        assert marked_here() == [], "the run left cluster processes behind"
    finally:
        for proc in marked_here():  # a failed run: thaw what it froze so it can be stopped
            proc.send_signal(signal.SIGCONT)
        gc_and_check()
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    [cell] = summary["cells"]
    assert cell["verdict"] == "failed"
    # A finding, not a crash: the upgrade waited for the frozen apiserver, the cluster is healthy.
    not_passed = [
        (i["scenario"], i["phase"].split("@")[0], i["outcome"]) for i in cell["items"] if i["outcome"] != "passed"
    ]
    assert not_passed == [("detectors", "disruption", "failed")]
    [stop, cont] = cell["hops"][0]["faults"]
    assert stop.startswith("stop kube-apiserver (pid ") and stop.endswith(" for 25s")
    assert cont.startswith("cont kube-apiserver (pid ")
    breaking = [f for f in summary["findings"] if f["severity"] == "breaking"]
    assert [(f["kind"], f["subject"]) for f in breaking] == [("disruption", "kube-apiserver")]
    assert breaking[0]["evidence"]["longest_outage_seconds"] > 15
    assert "budget 15.0s" in breaking[0]["detail"]
