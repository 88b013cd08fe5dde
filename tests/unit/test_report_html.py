"""The HTML report: one grid row per cell, findings with evidence, timelines, nothing external."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.report.html import render_html
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
    table = html.split('<table id="skipped-steps">', 1)[1].split("</table>", 1)[0]
    assert "the marker is read &lt;through&gt; the mount" in table and "needs real-containers" in table
    assert "a pod is refused" not in table, "steps that ran are not listed"
    assert 'title="verify@v2: failed (2 steps, 1 skipped)"' in html

    item["steps"][1]["status"] = "passed"
    assert "Every step of every scenario phase that ran was executed." in render_html(data, tmp_path)
    del item["steps"]
    assert "No scenario phase recorded its steps." in render_html(data, tmp_path)
