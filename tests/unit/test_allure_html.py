"""The Allure HTML report: built by the real ``allure`` CLI from real allure-pytest results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.report import allure_html

TESTS = """
import allure

def test_hop_passes():
    with allure.step("upgrade to v1.37.2"):
        pass

def test_detector_fails():
    assert "removed-api" == "nothing"
"""


def allure_results(report_dir: Path) -> None:
    (report_dir / "test_sample.py").write_text(TESTS)
    pytest_argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts="]
    subprocess.run(
        [*pytest_argv, f"--alluredir={report_dir / 'allure-results'}", str(report_dir / "test_sample.py")],
        cwd=report_dir,
        capture_output=True,
        check=False,
        timeout=120,
    )


def test_html_is_built_from_the_results(tmp_path: Path) -> None:
    if allure_html.find_allure() is None:
        pytest.skip("no allure CLI: scripts/setup installs it with npm")
    allure_results(tmp_path)
    index, note = allure_html.write_allure_html(tmp_path)
    assert index == tmp_path / "allure-report" / "index.html" and index.is_file(), note
    stats = json.loads((tmp_path / "allure-report" / "summary.json").read_text())["stats"]
    assert stats == {"total": 2, "failed": 1, "passed": 1}


def test_a_relative_report_directory_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if allure_html.find_allure() is None:
        pytest.skip("no allure CLI: scripts/setup installs it with npm")
    (tmp_path / "reports" / "smoke").mkdir(parents=True)
    allure_results(tmp_path / "reports" / "smoke")
    monkeypatch.chdir(tmp_path)
    index, note = allure_html.write_allure_html(Path("reports/smoke"))
    assert index == tmp_path / "reports" / "smoke" / "allure-report" / "index.html" and index.is_file(), note


def test_missing_cli_is_a_note_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "allure-results").mkdir()
    (tmp_path / "allure-results" / "x-result.json").write_text("{}")
    monkeypatch.setenv(allure_html.ALLURE_ENV, str(tmp_path / "no-such-allure"))
    index, note = allure_html.write_allure_html(tmp_path)
    assert index is None and "no 'allure' CLI" in note and allure_html.ALLURE_ENV in note


def test_no_results_means_no_html(tmp_path: Path) -> None:
    index, note = allure_html.write_allure_html(tmp_path)
    assert index is None and "no Allure results" in note
