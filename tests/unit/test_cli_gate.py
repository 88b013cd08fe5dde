"""``gate`` and ``repro`` build their matrix in Python and keep it in the report directory.

pytest itself (the cluster run) is replaced by a stand-in that loads the matrix it is given,
as the plugin does, and records a failed cell with the repro command the plugin writes.
"""

from __future__ import annotations

import json
import shlex
import tempfile
from pathlib import Path
from typing import Any

import pytest

from harness.cli import gate, main
from harness.matrix import load_matrix
from harness.toolchain import ToolchainConfig
from harness.versions import KubeVersion
from harness.workloads.manifest import WorkloadInput

#: Newest patches v1.35.4, v1.36.3, v1.37.2, as the module proxy might publish them.
AVAILABLE = [KubeVersion(1, minor, patch) for minor, count in ((35, 5), (36, 4), (37, 3)) for patch in range(count)]


class FakeRun:
    """Stands in for ``run_pytest_on_matrix``: loads the matrix and fails its every cell."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, matrix: str, *, report: str, cell: str | None, **options: Any) -> int:
        loaded = load_matrix(Path(matrix), AVAILABLE)
        self.calls.append({"matrix": matrix, "report": report, "cell": cell, "loaded": loaded, **options})
        cells = [
            {
                "id": c.id,
                "items": [{"nodeid": f"{c.id}::cluster::create", "outcome": "failed", "message": "boom"}],
                # The plugin's repro property (harness/plugin.py), built from pytest's --matrix.
                "repro": f"spin-harness repro '{c.id}' --matrix {matrix}",
            }
            for c in loaded.cells
            if cell is None or c.id == cell
        ]
        summary = {"verdict": "failed", "cells": cells, "findings": [], "counts": {"failed": len(cells)}}
        Path(report).mkdir(parents=True, exist_ok=True)
        (Path(report) / "summary.json").write_text(json.dumps(summary))
        return 1


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeRun:
    def version(text: str, config: ToolchainConfig, *, field: str = "--version") -> KubeVersion:
        partial = KubeVersion.parse_partial(text, field=field)
        return max(v for v in AVAILABLE if v.minor == partial.minor) if partial.is_partial else partial

    run = FakeRun()
    monkeypatch.setattr(gate, "version_from_flag", version)
    monkeypatch.setattr(gate, "run_pytest_on_matrix", run)
    # Anything made with tempfile lands here, so the tests can see it is not left behind.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return run


def test_gate_repro_command_points_into_the_report_directory(
    tmp_path: Path, fake_run: FakeRun, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export"
    export.mkdir()
    report = tmp_path / "reports" / "gate"
    argv = ["gate", "--from", "1.36", "--to", "1.37", "--workloads", str(export), "--report", str(report)]
    code = main([*argv, "--component", "platform-crd=v1:v2", "--scenarios", "none-*, tenant-rbac"])
    out = capsys.readouterr().out
    assert code == 1
    [line] = [line for line in out.splitlines() if "spin-harness repro" in line]
    repro = shlex.split(line.split(": ", 1)[1])
    assert repro[:3] == ["spin-harness", "repro", "local:v1.36.3>v1.37.2+platform-crd@v2"]
    matrix = Path(repro[repro.index("--matrix") + 1])
    assert matrix == report / "matrix.yaml" and matrix.is_file()
    assert list((tmp_path / "tmp").iterdir()) == []

    loaded = fake_run.calls[0]["loaded"]
    assert [c.id for c in loaded.cells] == [repro[2]]
    assert loaded.workloads == (WorkloadInput(export.resolve()),)
    assert loaded.components == (("platform-crd", ("v1", "v2")),)
    assert loaded.scenarios.include == ("none-*", "tenant-rbac")
    assert (loaded.budget.api_max_outage_seconds, loaded.budget.min_availability) == (15.0, 0.05)

    # The printed command works as printed, after the gate's run is over.
    assert main([*repro[1:], "--report", str(tmp_path / "repro")]) == 1
    assert fake_run.calls[1]["matrix"] == str(matrix) and fake_run.calls[1]["cell"] == repro[2]


def test_repro_without_a_matrix_writes_one_into_its_report_directory(tmp_path: Path, fake_run: FakeRun) -> None:
    report = tmp_path / "repro"
    assert main(["repro", "kind:v1.35.4>v1.36.3>v1.37.2~nodes-lag=1", "--report", str(report)]) == 1
    call = fake_run.calls[0]
    assert call["matrix"] == str(report / "matrix.yaml")
    assert [c.id for c in call["loaded"].cells] == ["kind:v1.35.4>v1.36.3>v1.37.2~nodes-lag=1"]
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--provider", "vagrant"], "--provider: unknown provider 'vagrant'"),
        (["--component", "a=v1:v2", "--component", "a=v2:v3"], "--component: a is given twice"),
        (["--component", "a=v1"], "--component: 'a=v1' is not NAME=FROM:TO"),
        (["--component", "Bad=v1:v2"], "--component: 'Bad' is not a valid name"),
        (["--scenarios", "a,,b"], "--scenarios: '' is not a scenario name or glob"),
        (["--max-outage", "-1"], "--max-outage: "),
    ],
)
def test_gate_bad_flag_values_name_the_flag(
    tmp_path: Path, fake_run: FakeRun, capsys: pytest.CaptureFixture[str], flags: list[str], needle: str
) -> None:
    report = tmp_path / "gate"
    code = main(["gate", "--from", "1.36", "--to", "1.37", "--report", str(report), *flags])
    err = capsys.readouterr().err
    assert code == 2 and needle in err, err
    assert fake_run.calls == [] and not report.exists()


def test_gate_reads_its_workloads_before_any_cluster_and_names_what_it_did_not_read(
    tmp_path: Path, fake_run: FakeRun, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "tenants"
    folder.mkdir()
    (folder / "cm.yml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: t}\n")
    (folder / "notes.txt").write_text("x\n")
    report = str(tmp_path / "r")
    assert main(["gate", "--from", "1.36", "--to", "1.37", "--workloads", str(folder), "--report", report]) == 1
    assert (
        f"workloads: ignored 1 file(s) that are not .yaml/.yml/.json: {folder / 'notes.txt'}" in capsys.readouterr().out
    )
    assert fake_run.calls[0]["loaded"].workloads == (WorkloadInput(folder.resolve()),)

    values = tmp_path / "values.yaml"
    values.write_text("a: 1\n")
    argv = ["gate", "--from", "1.36", "--to", "1.37", "--workloads", str(folder), "--values", str(values)]
    assert main([*argv, "--report", report]) == 2
    assert "--values: given, but none of" in capsys.readouterr().err
    (folder / "bad.json").write_text("{")
    assert main(["gate", "--from", "1.36", "--to", "1.37", "--workloads", str(folder), "--report", report]) == 2
    assert f"{folder / 'bad.json'}:1:2: document 1: invalid JSON" in capsys.readouterr().err
    assert len(fake_run.calls) == 1, "no run starts on unreadable input"
