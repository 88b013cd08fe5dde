"""Packaging: the wheel carries the test content, and an installed harness finds it.

Building the wheel takes seconds (a copy of the tree, pip's isolated build), so it runs with the
unit tests; installing it into a venv and running a matrix is ``tests/e2e/test_packaging.py``.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness import paths
from tests.built_wheel import CONTENT, PACKAGED, ROOT, build_wheel, source_files, wheel_names

CONTENT_VARIABLES = tuple(paths.CONTENT.values())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    before = sorted(p.name for p in ROOT.iterdir())
    built = build_wheel(tmp_path_factory.mktemp("wheel"))
    assert sorted(p.name for p in ROOT.iterdir()) == before, "building the wheel wrote into the checkout"
    return built


@pytest.fixture
def no_content_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in CONTENT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


def test_wheel_carries_every_content_file_and_nothing_compiled(wheel: Path) -> None:
    names = wheel_names(wheel)
    for folder in CONTENT:
        shipped = [name for name in source_files() if name.startswith(f"{folder}/")]
        assert shipped, folder
        missing = [name for name in shipped if f"{PACKAGED}/{name}" not in names]
        assert not missing, f"not in the wheel: {missing}"
    packaged = [name for name in names if name.startswith(f"{PACKAGED}/")]
    assert not [name for name in packaged if "__pycache__" in name or name.endswith(".pyc")]
    # The harness's own data still ships beside it.
    assert {"harness/py.typed", "harness/report/templates/index.html.j2"} <= names


def test_hypothesis_is_a_dev_dependency_only(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        requires = [line for line in archive.read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")]
    hypothesis = [line for line in requires if "hypothesis" in line]
    assert hypothesis and all('extra == "dev"' in line for line in hypothesis), hypothesis


def test_harness_does_not_import_hypothesis() -> None:
    imported: dict[str, set[str]] = {}
    for module in (ROOT / "harness").rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(), str(module))):
            if isinstance(node, ast.Import):
                imported.setdefault(str(module), set()).update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.setdefault(str(module), set()).add(node.module)
    offenders = [module for module, names in imported.items() if any(n.split(".")[0] == "hypothesis" for n in names)]
    assert not offenders, "hypothesis is a dev dependency: only tests may import it"


def test_an_installed_layout_finds_the_content_inside_the_package(
    wheel: Path, tmp_path: Path, no_content_variables: None
) -> None:
    site = tmp_path / "site-packages"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    empty = tmp_path / "empty"
    empty.mkdir()
    probe = (
        "import json, harness, harness.paths as p\n"
        "print(json.dumps({'package': harness.__file__, 'checkout': str(p.checkout_root()),"
        " 'scenarios': str(p.scenarios_dir()), 'matrices': str(p.matrices_dir()),"
        " 'platform': str(p.platform_dir()), 'playbooks': str(p.playbooks_dir()),"
        " 'matrix': str(p.resolve_matrix_argument('matrices/smoke.yaml'))}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in CONTENT_VARIABLES}
    env["PYTHONPATH"] = str(site)
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=empty, env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    packaged = site / PACKAGED
    assert Path(found["package"]).parent == site / "harness"
    assert found["checkout"] == "None"
    for folder in CONTENT:
        assert found[folder] == str(packaged / folder)
    assert found["matrix"] == str(packaged / "matrices" / "smoke.yaml")
    assert "using the shipped matrix" in result.stderr
    assert (packaged / "scenarios" / "tenant-rbac" / "scenario.yaml").is_file()
    assert (packaged / "playbooks" / "upgrade.yml").is_file()
    assert (packaged / "platform" / "allocation-crd" / "v1").is_dir()


# -- the lookup order, without a wheel ----------------------------------------------------


def test_a_checkout_uses_its_own_folders(no_content_variables: None) -> None:
    assert paths.checkout_root() == ROOT
    assert paths.scenarios_dir() == ROOT / "scenarios"
    assert paths.matrices_dir() == ROOT / "matrices"
    assert paths.platform_dir() == ROOT / "platform"
    assert paths.playbooks_dir() == ROOT / "playbooks"


def test_environment_variables_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lookups = {
        "scenarios": paths.scenarios_dir,
        "matrices": paths.matrices_dir,
        "platform": paths.platform_dir,
        "playbooks": paths.playbooks_dir,
    }
    assert set(lookups) == set(paths.CONTENT)
    for folder, variable in paths.CONTENT.items():
        monkeypatch.setenv(variable, str(tmp_path / folder))
        assert lookups[folder]() == tmp_path / folder


def test_an_existing_matrix_path_is_used_as_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "matrices").mkdir()
    (tmp_path / "matrices" / "smoke.yaml").write_text("name: mine\n")
    assert paths.resolve_matrix_argument("matrices/smoke.yaml") == Path("matrices/smoke.yaml")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("given", ["matrices/smoke.yaml", "smoke.yaml", "./matrices/smoke.yaml"])
def test_a_missing_matrix_falls_back_to_the_shipped_one(
    given: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert paths.resolve_matrix_argument(given) == paths.matrices_dir() / "smoke.yaml"
    assert "using the shipped matrix" in capsys.readouterr().err


@pytest.mark.parametrize("given", ["team/smoke.yaml", "matrices/absent.yaml"])
def test_other_missing_paths_are_left_for_the_loader_to_report(
    given: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert paths.resolve_matrix_argument(given) == Path(given)
    assert capsys.readouterr().err == ""
