"""The HTML report: verdict and breaking findings first, warnings by action, one grid row per
cell, timelines, the steps not run collapsed by reason, nothing external."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.report.actions import ACTIONS, FALLBACK_ACTION, action_order
from harness.report.html import render_html
from harness.report.sections import warning_groups
from harness.report.svg import timeline_svg


def summary(cells: int = 2) -> dict[str, Any]:
    out: dict[str, Any] = {
        "matrix": "matrices/smoke.yaml",
        "verdict": "failed",
        "findings": [],
        "cells": [],
        "counts": {"cells": cells, "passed": 3, "failed": 1, "skipped": 0, "breaking": 1, "warning": 0},
    }
    for index in range(cells):
        cell_id = f"local:v1.3{index}.1>v1.3{index + 1}.2"
        items = [
            {
                "nodeid": f"m.yaml::{cell_id}::cluster::create@v1",
                "scenario": "cluster",
                "phase": "create@v1",
                "outcome": "passed",
                "seconds": 8.0,
                "message": "",
            },
            {
                "nodeid": f"m.yaml::{cell_id}::tenant-rbac::verify@v2",
                "scenario": "tenant-rbac",
                "phase": "verify@v2",
                "outcome": "failed" if index == 0 else "passed",
                "seconds": 1.0,
                "message": "expected <denied>",
                "cause": "assertion",
            },
        ]
        hop = {
            "label": "v1>v2",
            "seconds": 9.0,
            "playbook": [{"task": "Upgrade", "status": "changed", "seconds": 8.0, "message": ""}],
            "timelines": [
                {
                    "name": "kube-apiserver",
                    "availability": 0.5,
                    "outages": [[1.0, 4.0]],
                    "attempts": [[0.0, True, 0.01, ""], [1.0, False, 0.0, "x"], [4.0, True, 0.01, ""]],
                }
            ],
        }
        out["cells"].append(
            {
                "id": cell_id,
                "verdict": "failed" if index == 0 else "passed",
                "items": items,
                "hops": [hop],
                "timings": {"create@v1": 8.0},
                "repro": f"spin-harness run m --cell '{cell_id}'",
            }
        )
    out["findings"].append(
        {
            "kind": "removed-api",
            "severity": "breaking",
            "hop": "v1>v2",
            "cell": "c",
            "subject": "platform.spin.example/v1alpha1",
            "detail": "<b>gone</b>",
            "evidence": {"in_use": True},
        }
    )
    return out


def test_one_grid_row_per_cell(tmp_path: Path) -> None:
    page = render_html(summary(3), tmp_path)
    grid = page.split('<table id="grid">')[1].split("</table>")[0]
    assert grid.count('class="cell-row"') == 3
    assert 'class="failed"' in grid and 'class="passed"' in grid


def test_findings_are_escaped_and_evidence_shown(tmp_path: Path) -> None:
    page = render_html(summary(), tmp_path)
    assert "&lt;b&gt;gone&lt;/b&gt;" in page and "<b>gone</b>" not in page
    assert "platform.spin.example/v1alpha1" in page and "&#34;in_use&#34;: true" in page


def test_page_is_self_contained(tmp_path: Path) -> None:
    page = render_html(summary(), tmp_path)
    assert "<script" not in page
    external = re.findall(r'(?:src|href)="(https?:[^"]*)"', page)
    assert external == []
    assert "<svg" in page and 'class="down"' in page


def test_timeline_marks_each_outage() -> None:
    svg = timeline_svg([{"name": "api", "availability": 0.5, "outages": [[1.0, 2.0], [5.0, 6.0]], "attempts": []}], 8.0)
    assert svg.count('class="down"') == 2 and "api 50%" in svg
    assert timeline_svg([], 1.0) == ""


def test_a_cell_whose_provider_is_missing_is_skipped_not_passed() -> None:
    from harness.providers import unavailable_reason
    from harness.run.summary import finalise

    def item(outcome: str) -> dict[str, str]:
        return {"outcome": outcome, "scenario": "cluster", "phase": "create"}

    summary = finalise(
        "nightly",
        [{"id": "local:a>b", "items": [item("passed")]}, {"id": "kind:a>b", "items": [item("skipped")] * 3}],
        0.0,
        1.0,
    )
    assert [c["verdict"] for c in summary["cells"]] == ["passed", "skipped"]
    assert summary["verdict"] == "passed"
    only_skipped = finalise("nightly", [{"id": "kind:a>b", "items": [item("skipped")]}], 0.0, 1.0)
    assert only_skipped["verdict"] == "empty", "nothing ran, so nothing passed"
    assert unavailable_reason("local") is None
    assert "no kinder provider" in (unavailable_reason("kinder") or "")


def test_steps_that_did_not_run_are_listed_with_the_reason(tmp_path: Path) -> None:
    data = summary(1)
    item = data["cells"][0]["items"][1]
    ran = {"path": "verify[0]", "title": "a pod is refused", "status": "passed", "seconds": 0.2, "message": ""}
    skipped = {
        "path": "verify[1]",
        "title": "the marker is read <through> the mount",
        "status": "skipped",
        "seconds": 0.0,
        "message": "needs real-containers, which provider local lacks",
    }
    item["steps"] = [ran | {"tenant": "alpha"}, skipped | {"tenant": "alpha"}]
    html = render_html(data, tmp_path)
    table = html.split('<details class="section" id="not-run">', 1)[1].split("</details>", 1)[0]
    assert "the marker is read &lt;through&gt; the mount" in table and "needs real-containers" in table
    assert "a pod is refused" not in table, "steps that ran are not listed"
    assert 'title="verify@v2: failed (2 steps, 1 skipped)"' in html

    item["steps"][1]["status"] = "passed"
    assert "Every step of every scenario phase that ran was executed." in render_html(data, tmp_path)
    del item["steps"]
    assert "No scenario phase recorded its steps." in render_html(data, tmp_path)


def _finding(kind: str, severity: str, subject: str, **evidence: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "severity": severity,
        "hop": "v1>v2",
        "cell": "local:v1>v2",
        "subject": subject,
        "detail": f"{subject} changed",
        "evidence": evidence,
    }


def _skipped(title: str, reason: str) -> dict[str, Any]:
    return {"path": "verify[0]", "title": title, "status": "skipped", "seconds": 0.0, "message": reason}


def test_the_page_leads_with_the_verdict_then_breaking_then_warnings_then_the_rest(tmp_path: Path) -> None:
    data = summary(1)
    data["cells"][0]["items"][1]["steps"] = [_skipped("a mount", "needs real-containers")]
    data["findings"].append(_finding("rbac-change", "warning", "ServiceAccount:app@tenant-a get core/pods"))
    page = render_html(data, tmp_path)
    order = ["verdict", "breaking", "warnings", "cells", "timeline", "steps-not-run", "timings"]
    positions = [page.index(f'id="{section}"') for section in order]
    assert positions == sorted(positions), dict(zip(order, positions, strict=True))
    assert page.index("platform.spin.example/v1alpha1") < page.index('id="grid"'), "the finding comes before the grid"
    assert "The upgrade breaks something: 1 breaking finding(s)" in page


def test_a_breaking_finding_names_the_tenant_object_the_manifest_and_the_fix(tmp_path: Path) -> None:
    data = summary(1)
    data["findings"] = [
        _finding(
            "removed-api",
            "breaking",
            "platform.spin.example/v1alpha1",
            replacement="platform.spin.example/v1",
            manifests=["tenants/alpha/project.yaml"],
        ),
        _finding(
            "schema-change",
            "breaking",
            "platform.spin.example/v1 Project spec.quota",
            objects_setting_it=["tenant-alpha/Project/web"],
        ),
    ]
    breaking = render_html(data, tmp_path).split('id="breaking"', 1)[1].split('id="warnings"', 1)[0]
    assert "tenants/alpha/project.yaml" in breaking and "move manifests to platform.spin.example/v1" in breaking
    assert "tenant-alpha/Project/web" in breaking and "stop setting the field" in breaking


def test_warnings_are_grouped_by_what_to_do_with_the_unknown_kinds_last(tmp_path: Path) -> None:
    data = summary(1)
    data["findings"] = [
        _finding("rbac-change", "warning", "ServiceAccount:app@tenant-a get core/pods"),
        _finding("newer-detector", "warning", "something new"),
        _finding("deprecated-api", "warning", "v1 endpoints", removed_release="1.40"),
        _finding("removed-api", "warning", "batch/v1beta1", manifests=["jobs.yaml"]),
    ]
    warnings = render_html(data, tmp_path).split('id="warnings"', 1)[1].split('id="cells"', 1)[0]
    headings = re.findall(r'<h3 class="action">([^<]*) <span class="count">(\d+)</span>', warnings)
    assert headings == [
        ("Migrate manifests to an API version the target serves", "2"),
        ("Review RBAC grants", "1"),
        (FALLBACK_ACTION, "1"),
    ]
    assert "ServiceAccount:app@tenant-a</code>" in warnings, "the tenant identity of an RBAC change"
    assert "jobs.yaml" in warnings and "before 1.40" in warnings


def test_steps_not_run_are_collapsed_and_grouped_by_reason_with_counts(tmp_path: Path) -> None:
    data = summary(2)
    for cell in data["cells"]:
        cell["items"][1]["steps"] = [
            _skipped("a mount", "needs real-containers"),
            _skipped("a port", "needs real-containers"),
            _skipped("a field", "not served at v1"),
        ]
    page = render_html(data, tmp_path)
    assert '<details class="section" id="not-run">' in page, "collapsed: no open attribute"
    assert re.search(r'Steps not run <span class="count">6</span> <span class="muted">for 2 reason', page)
    reasons = re.findall(r'<h3 class="reason">([^<]*) <span class="count">(\d+)</span>', page)
    assert reasons == [("needs real-containers", "4"), ("not served at v1", "2")]


@pytest.mark.parametrize(
    ("verdict", "style", "says"),
    [
        ("error", "error", "The harness itself failed"),
        ("stalled", "unknown", "Verdict &#39;stalled&#39; is not one this report knows"),
        ("passed", "passed", "The upgrade path holds"),
        ("empty", "empty", "Nothing ran"),
    ],
)
def test_every_verdict_gets_a_style_and_a_sentence(tmp_path: Path, verdict: str, style: str, says: str) -> None:
    data = summary(1)
    data["verdict"] = verdict
    data["cells"][0]["verdict"] = verdict
    page = render_html(data, tmp_path)
    assert f'<header id="verdict" class="{style}">' in page and f'<span class="badge {style}">' in page
    assert f'<td class="{style}">{verdict}</td>' in page, "the grid's verdict column"
    assert says in page


FINDINGS = st.fixed_dictionaries(
    {
        "kind": st.sampled_from([*ACTIONS, "other", ""]),
        "severity": st.sampled_from(["breaking", "warning", "info"]),
        "hop": st.just("a>b"),
        "cell": st.just("c"),
        "subject": st.text(max_size=8),
        "detail": st.text(max_size=8),
        "evidence": st.just({}),
    }
)


@given(st.lists(FINDINGS, max_size=30))
def test_warning_groups_partition_the_warnings_in_action_order(findings: list[dict[str, Any]]) -> None:
    groups = warning_groups({"findings": findings})
    listed = [(f["kind"], f["subject"], f["detail"]) for g in groups for f in g["findings"]]
    expected = [(f["kind"], f["subject"], f["detail"]) for f in findings if f["severity"] == "warning"]
    assert sorted(listed) == sorted(expected)
    titles = [g["action"] for g in groups]
    assert titles == [a for a in action_order() if a in titles] and all(g["findings"] for g in groups)
    assert all(f["action"] == g["action"] for g in groups for f in g["findings"])
