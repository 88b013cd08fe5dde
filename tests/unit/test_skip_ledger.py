"""The skip ledger fails a run on a skip nobody listed, or one whose condition does not hold."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.allowed_skips import ALLOWED_SKIPS, AllowedSkip
from tests.skip_ledger import judge

ROOT = Path(__file__).resolve().parents[2]

ALLOWED = (
    AllowedSkip("t/test_a.py::*", r"no widget", "when the widget is missing", lambda config: True),
    AllowedSkip("t/test_b.py::*", r"nightly", "outside the nightly job", lambda config: False),
)


def test_a_listed_skip_whose_condition_holds_is_allowed(pytestconfig: pytest.Config) -> None:
    taken = judge("t/test_a.py::test_x", "no widget here", pytestconfig, ALLOWED)
    assert taken.problem is None and taken.allowed_by is ALLOWED[0]


def test_an_unlisted_skip_is_a_problem(pytestconfig: pytest.Config) -> None:
    taken = judge("t/test_c.py::test_x", "no widget here", pytestconfig, ALLOWED)
    assert taken.problem == "not listed in tests/allowed_skips.py"


def test_a_listed_skip_whose_condition_fails_is_a_problem(pytestconfig: pytest.Config) -> None:
    taken = judge("t/test_b.py::test_x", "nightly only", pytestconfig, ALLOWED)
    assert taken.problem == "listed, but its condition does not hold: outside the nightly job"


def test_the_reason_must_match_not_just_the_test(pytestconfig: pytest.Config) -> None:
    assert judge("t/test_a.py::test_x", "something else", pytestconfig, ALLOWED).problem is not None


def test_every_allowed_skip_names_tests_that_exist() -> None:
    for entry in ALLOWED_SKIPS:
        pattern = entry.tests.split("::", 1)[0]
        assert list(ROOT.glob(pattern)), f"{entry.tests} matches no test file"


def run_suite(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "test_some.py").write_text(textwrap.dedent(body))
    (tmp_path / "conftest.py").write_text(
        "from tests.skip_ledger import SkipLedger\n\n"
        "def pytest_configure(config):\n"
        "    config.pluginmanager.register(SkipLedger(config), 'ledger')\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_run_with_an_unaccounted_skip_fails_and_prints_the_table(tmp_path: Path) -> None:
    result = run_suite(
        tmp_path,
        """
        import pytest

        def test_runs():
            assert True

        def test_skips():
            pytest.skip("the moon is full")
        """,
    )
    assert result.returncode == 1, result.stdout
    assert "skips taken" in result.stdout
    assert "NOT ALLOWED suite/test_some.py::test_skips: the moon is full" in result.stdout


def test_a_run_without_skips_passes(tmp_path: Path) -> None:
    result = run_suite(tmp_path, "def test_runs():\n    assert True\n")
    assert result.returncode == 0, result.stdout
    assert "skips taken" not in result.stdout
