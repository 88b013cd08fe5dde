"""Whose failure it is: the platform's (FAIL, exit 1) or the harness's (ERROR, exit 2), and
an error in any cell outranks everything else in the run."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.matrix import load_matrix
from harness.report.html import render_html
from harness.report.verdict import render_verdict
from harness.run.blame import (
    HARNESS,
    PLATFORM,
    VERDICTS,
    blame,
    cell_verdict,
    exit_code,
    first_line,
    run_verdict,
)
from harness.run.causes import CAUSES
from harness.run.matrix_plugin import MatrixPlugin, crash_result
from harness.run.summary import finalise
from harness.versions import KubeVersion

MATRICES = Path(__file__).resolve().parents[2] / "matrices"
AVAILABLE = [KubeVersion(1, minor, patch) for minor, count in ((35, 5), (36, 4), (37, 3)) for patch in range(count)]
CELL = "local:v1.36.3>v1.37.2"
OTHER = "local:v1.35.4>v1.36.3"


@pytest.mark.parametrize(
    ("group", "phase", "cause", "whose"),
    [
        # The platform broke a promise: a scenario, a workload replay, the probes, a detector.
        ("tenant-rbac", "verify@v1.37.2", "assertion", PLATFORM),
        ("ingress", "during@v1.37.2", "assertion", PLATFORM),
        ("workloads", "replay@v1.36.3", "assertion", PLATFORM),
        ("detectors", "disruption@v1.37.2", "assertion", PLATFORM),
        ("admission-webhooks", "setup@v1.36.3", "webhook", PLATFORM),
        ("ingress", "verify@v1.37.2", "tls", PLATFORM),
        # A component dead after a hop (an injected fault, or a version that does not run).
        ("upgrade", "hop@v1.37.2", "component-crash", PLATFORM),
        ("cluster", "health@v1.37.2", "component-crash", PLATFORM),
        # The harness could not do its job.
        ("cluster", "create@v1.36.3", "toolchain", HARNESS),
        ("cluster", "create@v1.36.3", "component-crash", HARNESS),  # never got a cluster to test
        ("cluster", "create@v1.36.3", "timeout", HARNESS),
        ("cluster", "create", "assertion", HARNESS),
        ("cluster", "delete@v1.37.2", "harness-error", HARNESS),
        ("upgrade", "hop@v1.37.2", "harness-error", HARNESS),  # the playbook or provider failed
        ("upgrade", "hop@v1.37.2", "timeout", HARNESS),
        ("cluster", "health@v1.37.2", "timeout", HARNESS),
        ("tenant-rbac", "verify@v1.37.2", "harness-error", HARNESS),  # a bug, or bad input
        ("detectors", "rbac-change@v1.37.2", "harness-error", HARNESS),
        ("tenant-rbac", "setup@v1.36.3", "worker-crash", HARNESS),
        ("tenant-rbac", "setup@v1.36.3", "toolchain", HARNESS),
        ("tenant-rbac", "setup@v1.36.3", "", HARNESS),  # no cause recorded: not a known promise
    ],
)
def test_blame(group: str, phase: str, cause: str, whose: str) -> None:
    assert blame(group, phase, cause) == whose


def test_every_cause_has_an_owner() -> None:
    owners = {cause: blame("tenant-rbac", "verify@v1", cause) for cause in CAUSES}
    assert owners == {
        "timeout": HARNESS,
        "component-crash": PLATFORM,
        "webhook": PLATFORM,
        "tls": PLATFORM,
        "assertion": PLATFORM,
        "toolchain": HARNESS,
        "worker-crash": HARNESS,
        "harness-error": HARNESS,
    }


def item(group: str, phase: str, outcome: str = "passed", cause: str = "", cell: str = CELL) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "nodeid": f"m.yaml::{cell}::{group}::{phase}",
        "cell": cell,
        "scenario": group,
        "phase": phase,
        "outcome": outcome,
        "seconds": 1.0,
        "message": "",
        "steps": [],
    }
    if outcome == "failed":
        entry |= {"cause": cause, "message": f"m.yaml::{cell}::{group}::{phase}: {cause} went wrong\n  more"}
    return entry


BREAKING = {"kind": "disruption", "severity": "breaking", "hop": "a>b", "subject": "kube-apiserver", "detail": "down"}


def test_a_harness_error_outranks_a_broken_promise_and_breaking_findings_in_its_cell() -> None:
    items = [item("tenant-rbac", "verify@v1", "failed", "assertion"), item("cluster", "delete@v2", "failed", "x")]
    assert cell_verdict(items, [BREAKING]) == "error"
    assert cell_verdict(items[:1], []) == "failed"
    assert cell_verdict([item("detectors", "disruption@v2")], [BREAKING]) == "failed", "a finding alone fails"
    assert cell_verdict([item("cluster", "create@v1", "skipped")], []) == "skipped"
    assert cell_verdict([item("cluster", "create@v1"), item("x", "setup@v1", "skipped")], []) == "passed"


@given(st.lists(st.sampled_from(["error", "failed", "passed", "skipped"])))
def test_the_run_verdict_is_its_worst_cell(verdicts: list[str]) -> None:
    verdict = run_verdict(verdicts)
    ran = [v for v in verdicts if v != "skipped"]
    assert verdict == (min(ran, key=VERDICTS.index) if ran else "empty")
    assert (verdict == "error") == ("error" in verdicts)


@pytest.mark.parametrize(
    ("status", "verdict", "code"),
    [
        (0, "passed", 0),
        (1, "failed", 1),
        (1, "error", 2),  # a harness error in any cell, whatever else failed
        (0, "error", 2),
        (0, "empty", 2),  # nothing ran
        (1, "empty", 2),
        (2, "passed", 2),  # interrupted
        (3, "failed", 2),  # pytest internal error
        (4, None, 2),  # usage error: no summary
        (5, None, 2),  # nothing collected
        (0, None, 0),  # --collect-only writes no summary
        (1, None, 1),
        (1, "passed", 2),  # a failure outside the matrix items (a cluster not removed): the harness's
    ],
)
def test_exit_code(status: int, verdict: str | None, code: int) -> None:
    assert exit_code(status, verdict) == code


@given(st.integers(0, 5), st.sampled_from(["error", "failed", "passed", "empty", None]))
def test_exit_1_only_for_a_platform_failure_and_2_for_every_error(status: int, verdict: str | None) -> None:
    code = exit_code(status, verdict)
    if verdict == "error":
        assert code == 2
    if code == 1:
        assert verdict == "failed" or (status == 1 and verdict is None)
    if code == 0:
        assert status == 0 and verdict in ("passed", None)


def mixed_run() -> dict[str, Any]:
    """Two cells as a schema-1 summary had them (no ``blame``, no ``errors``): one whose cluster
    could not be created, one with a broken promise and a breaking finding."""
    broken = [
        item("cluster", "create@v1.35.4", "failed", "toolchain", cell=OTHER),
        item("tenant-rbac", "setup@v1.35.4", "skipped", cell=OTHER),
        item("cluster", "delete@v1.36.3", cell=OTHER),
    ]
    breaking = [
        item("cluster", "create@v1.36.3"),
        item("tenant-rbac", "verify@v1.37.2", "failed", "assertion"),
        item("detectors", "disruption@v1.37.2", "failed", "assertion"),
        item("cluster", "delete@v1.37.2"),
    ]
    cells = [
        {"id": OTHER, "items": broken, "findings": [], "hops": [], "timings": {}},
        {
            "id": CELL,
            "items": breaking,
            "findings": [BREAKING],
            "hops": [],
            "timings": {},
            "repro": "spin-harness repro x",
        },
    ]
    return finalise("m.yaml", cells, 0.0, 1.0)


def test_finalise_classifies_old_summaries_and_lists_each_error() -> None:
    summary = mixed_run()
    assert summary["schema"] == 2 and summary["verdict"] == "error"
    assert [c["verdict"] for c in summary["cells"]] == ["error", "failed"]
    assert summary["errors"] == [
        {"cell": OTHER, "step": "cluster::create@v1.35.4", "cause": "toolchain", "reason": "toolchain went wrong"}
    ]
    assert summary["cells"][0]["errors"] == summary["errors"] and summary["cells"][1]["errors"] == []
    assert summary["counts"] | {} == {
        "cells": 2,
        "items": 7,
        "passed": 3,
        "failed": 3,
        "skipped": 1,
        "errors": 1,
        "breaking": 1,
        "warning": 0,
    }
    blamed = {i["phase"]: i.get("blame") for c in summary["cells"] for i in c["items"]}
    assert blamed["create@v1.35.4"] == HARNESS and blamed["verify@v1.37.2"] == PLATFORM
    assert blamed["create@v1.36.3"] is None, "only failed items are blamed"
    assert finalise("m.yaml", summary["cells"], 0.0, 1.0) == summary, "finalising again changes nothing"


def test_the_verdict_says_error_names_the_step_and_keeps_the_breaking_findings() -> None:
    text = render_verdict(mixed_run())
    assert text.startswith(f"spin-harness gate: ERROR   ({OTHER}, {CELL})")
    assert "HARNESS ERROR (1):" in text
    assert f"  {OTHER} cluster::create@v1.35.4 [toolchain]: toolchain went wrong" in text
    assert "BREAKING (1):" in text and "kube-apiserver: down" in text, "findings before the error stand"
    failed_steps = text.split("FAILED STEPS (1):")[1].split("\n\n")[0]
    assert "tenant-rbac::verify@v1.37.2" in failed_steps and "create@" not in failed_steps
    assert "(1 of them harness errors)" in text
    markdown = render_verdict(mixed_run(), markdown=True)
    assert "## Upgrade gate: **ERROR**" in markdown and "### Harness errors" in markdown
    assert f"- `{OTHER} cluster::create@v1.35.4` [toolchain]: toolchain went wrong" in markdown


def test_a_platform_failure_alone_is_fail_without_an_error_section() -> None:
    summary = mixed_run()
    only = finalise("m.yaml", summary["cells"][1:], 0.0, 1.0)
    assert only["verdict"] == "failed" and only["errors"] == []
    text = render_verdict(only)
    assert text.startswith("spin-harness gate: FAIL") and "HARNESS ERROR" not in text and "BREAKING (1):" in text
    assert render_verdict({"verdict": "passed", "cells": []}).startswith("spin-harness gate: PASS")


def test_a_run_where_nothing_ran_is_an_error_too() -> None:
    text = render_verdict({"verdict": "empty", "cells": [], "findings": [], "counts": {}})
    assert text.startswith("spin-harness gate: ERROR") and "no cell ran" in text


def test_the_html_report_shows_an_error_apart_from_a_failure(tmp_path: Path) -> None:
    page = render_html(mixed_run(), tmp_path)
    assert '<span class="badge error">ERROR</span>' in page and 'id="harness-error"' in page
    grid = page.split('<table id="grid">')[1].split("</table>")[0]
    assert '<td class="error">error</td>' in grid and '<td class="failed">failed</td>' in grid
    failed = page.split('<table id="failed-items">')[1].split("</table>")[0]
    assert failed.count('<tr class="error">') == 1 and failed.count('<tr class="failed">') == 2
    assert "spin-harness repro x" in page
    passed = {"id": CELL, "items": [item("cluster", "create@v1")], "hops": [], "timings": {}}
    passing = render_html(finalise("m.yaml", [passed], 0, 1), tmp_path)
    assert 'id="harness-error"' not in passing and 'class="badge passed"' in passing


def crash_report(nodeid: str, when: str = "???", outcome: str = "failed") -> pytest.TestReport:
    return pytest.TestReport(nodeid, ("m.yaml", None, "m.yaml"), {}, outcome, "worker 'gw0' crashed", when)  # type: ignore[arg-type]


def test_a_crashed_worker_is_a_harness_error_of_its_cell() -> None:
    nodeid = f"m.yaml::{CELL}::tenant-rbac::verify@v1.36.3@{CELL}"  # pytest-xdist's @group suffix
    result = crash_result(crash_report(nodeid), [OTHER, CELL])
    assert result is not None
    assert (result.cell, result.scenario, result.phase, result.cause) == (
        CELL,
        "tenant-rbac",
        "verify@v1.36.3",
        "worker-crash",
    )
    assert crash_result(crash_report(nodeid, when="call"), [CELL]) is None, "a report from the worker itself"
    assert crash_result(crash_report(nodeid, outcome="passed"), [CELL]) is None
    assert crash_result(crash_report("tests/test_x.py::test_y"), [CELL]) is None, "not a matrix item"


def test_the_plugin_records_a_crashed_worker_and_the_run_errors(tmp_path: Path) -> None:
    config: Any = SimpleNamespace(stash=pytest.Stash(), getoption=lambda name: str(tmp_path))
    matrix = load_matrix(MATRICES / "smoke.yaml", AVAILABLE)
    plugin = MatrixPlugin(config, "m.yaml", matrix)
    assert plugin.summary is not None
    (cell,) = matrix.cells
    plugin.pytest_runtest_logreport(crash_report(f"m.yaml::{cell.id}::cluster::create@v1.36.3@{cell.id}"))
    out = plugin.summary.to_json()
    assert out["verdict"] == "error"
    assert out["errors"] == [
        {
            "cell": cell.id,
            "step": "cluster::create@v1.36.3",
            "cause": "worker-crash",
            "reason": "worker 'gw0' crashed",
        }
    ]


@pytest.mark.parametrize(
    ("message", "line"),
    [
        ("m.yaml::c::cluster::create@v1: kwok is not running (hint)\n  | log", "kwok is not running (hint)"),
        (
            "m.yaml::c::cluster::create@v1: cannot provide etcd for etcd v3.6.6:\n  dir: no etcd under /b (hint)",
            "cannot provide etcd for etcd v3.6.6: dir: no etcd under /b (hint)",
        ),
        ("    def runtest(self):\n>       x()\nE       KeyError: 'tenant'\n\nh/x.py:3: KeyError", "KeyError: 'tenant'"),
        (
            "E   ValueError: first\nsomething\nE   RuntimeError: boom\nE     second line\nx.py:9: RuntimeError",
            "RuntimeError: boom",
        ),
        ("", ""),
    ],
)
def test_first_line_is_what_went_wrong(message: str, line: str) -> None:
    assert first_line(message, "m.yaml::c::cluster::create@v1") == line


def test_a_long_failure_message_keeps_what_failed_and_why() -> None:
    from harness.run.matrix_plugin import _clip

    message = (
        "m.yaml::c::cluster::create@v1: kube-apiserver exited during start-up:\n" + "x" * 9000 + "\nError: bad flag"
    )
    clipped = _clip(message)
    assert len(clipped) < 4100 and clipped.startswith("m.yaml::c::cluster::create@v1: kube-apiserver exited")
    assert clipped.endswith("Error: bad flag")
    assert (
        first_line(clipped, "m.yaml::c::cluster::create@v1") == "kube-apiserver exited during start-up: Error: bad flag"
    )
    assert _clip("short") == "short"
