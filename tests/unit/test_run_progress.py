"""A matrix run's progress: item labels, and lines from a real pytest session, with and without xdist."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.run.progress_plugin import ProgressPlugin, item_label

SUITE = """
import pytest

def test_create():
    pass

def test_hop():
    assert False, "the hop failed"

def test_detector():
    pytest.skip("cell cannot continue")
"""


def test_labels_read_cell_then_group_and_phase() -> None:
    nodeid = "reports/gate/matrix.yaml::local:v1.36.3>v1.37.2::detectors::dry-run-rejected@v1.37.2"
    assert item_label(nodeid) == "local:v1.36.3>v1.37.2: detectors dry-run-rejected@v1.37.2"
    assert item_label("tests/test_x.py::test_y") == "tests/test_x.py::test_y"


def _run(tmp_path: Path, *options: str) -> list[str]:
    suite = tmp_path / "test_suite.py"
    suite.write_text(SUITE)
    lines: list[str] = []
    # rootdir pinned: node ids must not depend on what files the directories above hold
    args = [str(suite), f"--rootdir={tmp_path}", "-p", "no:cacheprovider", "-p", "no:terminal", "-o", "addopts="]
    status = pytest.main([*args, *options], plugins=[ProgressPlugin(lines.append)])
    assert status == pytest.ExitCode.TESTS_FAILED
    return lines


def test_every_item_is_announced_and_failures_and_skips_are_named(tmp_path: Path) -> None:
    lines = _run(tmp_path)
    assert lines[0] == "collecting the matrix's items"
    assert lines[1] == "3 items in 3 cell(s)"
    assert [line for line in lines if line.endswith(("test_create", "test_hop", "test_detector"))] == [
        "test_suite.py::test_create",
        "test_suite.py::test_hop",
        "test_suite.py::test_detector",
    ]
    assert "test_suite.py::test_hop: FAILED (call)" in lines
    assert "test_suite.py::test_detector: skipped cell cannot continue" in lines
    assert lines[-1] == "items done, 1 failed; removing clusters, writing the report"


def test_under_xdist_the_controlling_process_hears_of_every_item(tmp_path: Path) -> None:
    lines = _run(tmp_path, "-n", "1")  # one worker: the items run in another process all the same
    started = sorted(line for line in lines if line.endswith(("test_create", "test_hop", "test_detector")))
    assert started == ["test_suite.py::test_create", "test_suite.py::test_detector", "test_suite.py::test_hop"]
    assert "test_suite.py::test_hop: FAILED (call)" in lines
