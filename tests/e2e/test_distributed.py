"""A matrix run cell by cell (as CI jobs would) merges into the single-machine verdicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.versions import KubeVersion
from tests.e2e.test_run import ROOT, run_matrix

pytestmark = pytest.mark.e2e


def test_per_cell_runs_merge_into_the_whole_runs_verdicts(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    older, newer = e2e_versions
    matrix = tmp_path / "two.yaml"
    # Two cells (a plain hop, and one whose nodes lag a minor behind), under the smoke matrix's budget.
    matrix.write_text(
        "name: two\nproviders: [local]\n"
        f'paths:\n  - hops: ["{older}", "{newer}"]\n'
        f'  - from: "{older}"\n    to: "{newer}"\n    nodes_lag: 1\n'
        'scenarios:\n  include: ["*"]\n  exclude: ["*"]\n'
        "probes:\n  budget: {api_max_outage_seconds: 15, min_availability: 0.25}\n"
    )
    whole = run_matrix(matrix, tmp_path / "whole", "-n", "2")
    assert whole.returncode == 0, whole.stdout[-3000:] + whole.stderr[-2000:]
    whole_summary = json.loads((tmp_path / "whole" / "summary.json").read_text())
    cells = [c["id"] for c in whole_summary["cells"]]
    assert len(cells) == 2, whole.stdout[-2000:]

    parts = []
    for index, cell in enumerate(cells):
        part = tmp_path / f"part{index}"
        one = run_matrix(matrix, part, "--cell", cell)
        assert one.returncode == 0, one.stdout[-3000:] + one.stderr[-2000:]
        assert [c["id"] for c in json.loads((part / "summary.json").read_text())["cells"]] == [cell]
        parts.append(str(part))
    env = dict(os.environ, SPIN_HARNESS_QUIET="1")
    merged = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", "merge", *parts, "--out", str(tmp_path / "merged")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert merged.returncode == 0, merged.stderr
    merged_summary = json.loads((tmp_path / "merged" / "summary.json").read_text())

    def verdicts(summary: dict[str, object]) -> dict[str, str]:
        return {c["id"]: c["verdict"] for c in summary["cells"]}  # type: ignore[attr-defined,index]

    assert verdicts(merged_summary) == verdicts(whole_summary) == dict.fromkeys(cells, "passed")
    assert merged_summary["counts"]["items"] == whole_summary["counts"]["items"]
    assert (tmp_path / "merged" / "index.html").is_file() and (tmp_path / "merged" / "junit.xml").is_file()
