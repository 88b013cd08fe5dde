"""The pre-upgrade gate on real clusters: an exported tenant passes; a planted break fails by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.plugin import ClusterFactory
from harness.versions import KubeVersion
from tests.e2e.cli import spin
from tests.e2e.test_export_replay import PLANTED, populate

pytestmark = pytest.mark.e2e


def test_gate_passes_an_exported_tenant(
    tmp_path: Path, cluster_factory: ClusterFactory, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    older, newer = e2e_versions
    production = cluster_factory.create(older)
    populate(production.kubeconfig)
    export = tmp_path / "export"
    assert spin("export", "--kubeconfig", str(production.kubeconfig), "--out", str(export)).returncode == 0
    report = tmp_path / "gate"
    result = spin(
        "gate",
        "--from",
        str(older),
        "--to",
        str(newer),
        "--workloads",
        str(export),
        "--scenarios",
        "none-*",
        "--report",
        str(report),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.stdout.startswith("spin-harness gate: PASS")
    markdown = (report / "verdict.md").read_text()
    assert "## Upgrade gate: **PASS**" in markdown
    for path in report.rglob("*"):
        if path.is_file():
            assert PLANTED not in path.read_text(errors="replace"), f"secret value in {path}"


def test_gate_fails_on_a_workload_using_an_api_the_platform_upgrade_removes(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    older, newer = e2e_versions
    workloads = tmp_path / "workloads" / "tenant-alpha"
    workloads.mkdir(parents=True)
    (workloads / "namespace.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "tenant-alpha", "labels": {"platform.spin.example/tenant": "alpha"}},
            }
        )
    )
    stale = workloads / "Allocation-climate.yaml"
    stale.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "platform.spin.example/v1alpha1",
                "kind": "Allocation",
                "metadata": {"name": "climate", "namespace": "tenant-alpha"},
                "spec": {"project": "climate", "nodeHours": 5000},
            }
        )
    )
    report = tmp_path / "gate"
    result = spin(
        "gate",
        "--from",
        str(older),
        "--to",
        str(newer),
        "--workloads",
        str(tmp_path / "workloads"),
        "--component",
        "allocation-crd=v1:v2",
        "--scenarios",
        "none-*",
        "--report",
        str(report),
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    out = result.stdout
    assert out.startswith("spin-harness gate: FAIL")
    breaking = out.split("BREAKING", 1)[1].split("WARNINGS", 1)[0]
    assert "[removed-api]" in breaking and "platform.spin.example/v1alpha1" in breaking
    assert "use platform.spin.example/v1 instead" in breaking
    assert str(stale) in breaking or stale.name in breaking
    assert "[dry-run-rejected]" in breaking
    markdown = (report / "verdict.md").read_text()
    assert "**FAIL**" in markdown and "platform.spin.example/v1alpha1" in markdown


def test_gate_bad_input_exits_2(tmp_path: Path) -> None:
    result = spin("gate", "--from", "1.3x", "--to", "1.37", "--report", str(tmp_path / "r"))
    assert result.returncode == 2 and "is not a Kubernetes version" in result.stderr
    missing = spin(
        "gate", "--from", "1.36", "--to", "1.37", "--workloads", str(tmp_path / "nope"), "--report", str(tmp_path / "r")
    )
    assert missing.returncode == 2 and "does not exist" in missing.stderr
