"""Bad input on the command line: one line naming the file or flag, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize(
    ("content", "needle"),
    [("apiVersion: v1\nclusters: [\n", "invalid YAML"), ("apiVersion: v1\nkind: Config\n", "not a usable kubeconfig")],
)
def test_bad_kubeconfig(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, needle: str) -> None:
    kubeconfig = tmp_path / "k.yaml"
    kubeconfig.write_text(content)
    code, err = run(capsys, "export", "--kubeconfig", str(kubeconfig), "--out", str(tmp_path / "out"))
    assert code == 2 and needle in err and str(kubeconfig) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_kubeconfig(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "replay", str(tmp_path), "--kubeconfig", str(tmp_path / "absent"))
    assert code == 2 and "no such kubeconfig" in err


def test_bad_export_directory_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "export" / "ns"
    export.mkdir(parents=True)
    (export / "ok.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (export / "broken.yaml").write_text("apiVersion: v1\nkind: [\n")
    kubeconfig = tmp_path / "k.yaml"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    code, err = run(capsys, "replay", str(export.parent), "--kubeconfig", str(kubeconfig))
    assert code == 2 and f"{export / 'broken.yaml'}:3" in err


def test_manifest_without_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "m.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
    kubeconfig = tmp_path / "k.yaml"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    code, err = run(capsys, "replay", str(tmp_path / "export"), "--kubeconfig", str(kubeconfig))
    assert code == 2 and "has no metadata.name" in err


def test_report_commands_need_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "report", "html", str(tmp_path))
    assert code == 2 and "no summary.json" in err
    code, err = run(capsys, "report", "merge", str(tmp_path), "--out", str(tmp_path / "m"))
    assert code == 2 and "no summary.json" in err


def test_toolchain_components_and_for_together(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "toolchain", "ensure", "v1.36.3", "--components", "etcd", "--for", "kind")
    assert code == 2 and "--components" in err and "--for" in err
    assert "Traceback" not in err
