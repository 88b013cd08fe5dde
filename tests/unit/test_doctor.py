"""``spin-harness doctor``: rendering and exit code from given results, and one run on this machine."""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.doctor import CheckResult, exit_code, render, run_checks
from harness.doctor.docker import bounding_set_reduced

PYTHON = CheckResult("python", True, "Python 3.11.7 (needs >= 3.11)", required=True, fix="install Python 3.11+")
GO_MISSING = CheckResult("go", False, "the go command is not on PATH", required=True, fix="run scripts/setup")
DOCKER_MISSING = CheckResult("docker", False, "no Docker engine answers", required=False, fix="scripts/docker-engine")
CHROMIUM = CheckResult("chromium", True, "/usr/bin/chromium", required=False, fix="scripts/setup")


def test_exit_code_follows_required_checks_only() -> None:
    assert exit_code([PYTHON, CHROMIUM]) == 0
    assert exit_code([PYTHON, DOCKER_MISSING]) == 0
    assert exit_code([PYTHON, GO_MISSING, DOCKER_MISSING]) == 1
    assert exit_code([]) == 0


def test_rendering_names_status_kind_and_the_fix_of_missing_items() -> None:
    lines = render([PYTHON, GO_MISSING, DOCKER_MISSING, CHROMIUM])
    assert lines == [
        "OK       python    required  Python 3.11.7 (needs >= 3.11)",
        "MISSING  go        required  the go command is not on PATH",
        "                             fix: run scripts/setup",
        "MISSING  docker    optional  no Docker engine answers",
        "                             fix: scripts/docker-engine",
        "OK       chromium  optional  /usr/bin/chromium",
        "not ready: go missing; optional features unavailable: docker",
    ]
    assert render([PYTHON])[-1] == "ready for local runs"


def test_a_check_that_fails_is_a_missing_required_item() -> None:
    def check_broken_thing() -> CheckResult:
        raise OSError("no /proc")

    results = run_checks([lambda: PYTHON, check_broken_thing])
    assert results[1].name == "broken thing"
    assert not results[1].ok
    assert results[1].required
    assert "no /proc" in results[1].detail


@pytest.mark.parametrize(
    ("capbnd", "reduced"), [("000001ffffffffff", False), ("000001fffeffffff", True), ("000003ffffffffff", False)]
)
def test_reduced_bounding_set_is_recognised(capbnd: str, reduced: bool) -> None:
    assert bounding_set_reduced(f"Name:\tpython3\nCapBnd:\t{capbnd}\n", 40) is reduced


def test_doctor_runs_on_this_machine(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--json"])
    checks = json.loads(capsys.readouterr().out)
    assert code in (0, 1)
    assert {c["name"] for c in checks} >= {"python", "go", "disk", "docker", "toolchain"}
    for check in checks:
        assert check["status"] in ("OK", "MISSING")
        assert isinstance(check["required"], bool)
        assert check["detail"]
    assert code == (1 if any(c["required"] and c["status"] == "MISSING" for c in checks) else 0)
