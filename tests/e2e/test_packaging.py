"""The wheel, installed into a fresh venv, runs the smoke matrix from an empty directory.

Proves what ``tests/unit/test_packaging.py`` checks piecewise: an installed harness finds its
matrices, scenarios, playbooks and platform components inside the package, with no checkout
and no ``SPIN_HARNESS_*`` folder variables. The venv reuses the dependencies of the environment
running the tests (a ``.pth`` line naming its site-packages, whose own ``.pth`` hooks, such as an
editable install of this checkout, are not run), so nothing is downloaded; the harness itself
must come from the wheel.
Uses the toolchains the smoke matrix needs (the newest two minors), as ``scripts/smoke`` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from harness import paths
from tests.built_wheel import ROOT, build_wheel

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the wheel built from this tree installed into it."""
    work = tmp_path_factory.mktemp("packaging")
    wheel = build_wheel(work)
    home = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(home)], check=True, timeout=300)
    site = subprocess.run(
        [str(home / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()
    (Path(site) / "test-dependencies.pth").write_text(f"{ours['purelib']}\n{ours['platlib']}\n")
    installed = subprocess.run(
        [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    return home


def installed_env() -> dict[str, str]:
    """The environment without anything that would lead the harness back to this checkout."""
    dropped = {"PYTHONPATH", *paths.CONTENT.values()}
    return {**{k: v for k, v in os.environ.items() if k not in dropped}, "SPIN_HARNESS_QUIET": "1"}


def test_installed_wheel_runs_the_smoke_matrix_from_an_empty_directory(venv: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = installed_env()
    located = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import harness; print(harness.__file__)"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(located.stdout.strip()).is_relative_to(venv), f"harness not from the wheel: {located.stdout}"

    report = tmp_path / "r"
    result = subprocess.run(
        [str(venv / "bin" / "spin-harness"), "run", "matrices/smoke.yaml", "--report", str(report)],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1500,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "using the shipped matrix" in result.stderr
    summary = json.loads((report / "summary.json").read_text())
    assert summary["verdict"] == "passed"
    (cell,) = summary["cells"]
    shipped = {p.name for p in (ROOT / "scenarios").iterdir() if (p / "scenario.yaml").is_file()}
    assert set(cell["scenarios"]) == shipped, "every shipped scenario is found inside the package"
    assert cell["hops"][0]["playbook"], "the upgrade playbook is found inside the package"
    assert (report / "junit.xml").is_file()
    assert list(empty.iterdir()) == [], "the run wrote nothing into the working directory"
