"""Release notes in the reports: related to findings in summary.json, shown in the verdict and
the HTML page, and never changing a verdict or a count."""

from __future__ import annotations

import copy
from html import escape
from pathlib import Path
from typing import Any

from harness.findings import Finding, Severity
from harness.releasenotes.hop import unavailable
from harness.releasenotes.relate import relates
from harness.report.html import render_html
from harness.report.serialise import from_wire, summary_entry, to_wire
from harness.report.verdict import render_verdict
from harness.run.identity import ItemId
from harness.run.records import HopReport, ItemRecord
from harness.run.summary import Summary

HOP = "v1.36.3>v1.37.2"
CELL = f"local:{HOP}"
EMPTY_DIR_NOTE = {
    "minor": "1.37",
    "release": "v1.37.0",
    "section": "API Change",
    "text": "Added support for setting Unix permission bits (0000-01777) through the `mode` field on emptyDir "
    "volume directories at creation time.",
    "pr": "https://github.com/kubernetes/kubernetes/pull/140244",
    "pr_number": 140244,
    "line": 118,
    "score": 3,
    "terms": [{"term": "emptyDir", "type": "volume", "objects": ["apps/v1 Deployment tenant-a/web (web.yaml)"]}],
}
HTTP_GET_NOTE = EMPTY_DIR_NOTE | {
    "text": "Added a `protocol` field to `httpGet` probes so that probes can run over HTTP/2 cleartext (H2C).",
    "pr": "https://github.com/kubernetes/kubernetes/pull/139429",
    "pr_number": 139429,
    "score": 2,
    "terms": [{"term": "httpGet", "type": "field", "objects": ["web.yaml"]}],
}


def notes_record(*notes: dict[str, Any]) -> dict[str, Any]:
    return {
        "hop": HOP,
        "status": "ok",
        "reason": "",
        "changelogs": [
            {
                "minor": "1.37",
                "module": "k8s.io/kubernetes@v1.37.2",
                "file": "x",
                "releases": ["v1.37.0", "v1.37.1"],
                "missing": ["v1.37.2"],
                "from_prereleases": [],
            }
        ],
        "considered": 82,
        "notes": [copy.deepcopy(n) for n in notes],
    }


def run_summary(release_notes: dict[str, Any] | None, findings: list[Finding]) -> dict[str, Any]:
    """A summary built the way a run builds it: records over the wire, then ``Summary``."""
    summary = Summary(matrix="gate.yaml")
    hop_item = ItemRecord(ItemId(CELL, "upgrade", "hop", "v1.37.2"), f"gate.yaml::{CELL}::upgrade::hop@v1.37.2")
    hop_item.hop = HopReport(HOP, 9.5, [], [], [], release_notes)
    detector = ItemRecord(ItemId(CELL, "detectors", "object-drift", "v1.37.2"), "gate.yaml::x::detectors")
    detector.findings = findings
    for record in (hop_item, detector):
        summary.add(*summary_entry(from_wire(to_wire(record)), "passed", 1.0, ""))
    return summary.to_json()


DRIFT = Finding(
    "object-drift",
    Severity.WARNING,
    HOP,
    "tenant-a/Deployment/web",
    "tenant-a/Deployment/web differs after the hop (spec.template.spec.volumes[0].emptyDir.mode added)",
)


def test_a_note_relates_to_the_finding_that_mentions_its_term() -> None:
    summary = run_summary(notes_record(EMPTY_DIR_NOTE, HTTP_GET_NOTE), [DRIFT])
    notes = summary["cells"][0]["hops"][0]["release_notes"]["notes"]
    assert notes[0]["related"] == [
        {"kind": "object-drift", "subject": "tenant-a/Deployment/web", "severity": "warning"}
    ]
    assert notes[1]["related"] == []


def test_everyday_kinds_and_other_hops_relate_nothing() -> None:
    pod_note = EMPTY_DIR_NOTE | {"terms": [{"term": "Pod", "type": "kind", "objects": []}]}
    finding = {"subject": "probe pod restricted", "detail": "probe pod restricted: now denied", "hop": HOP}
    assert not relates(pod_note, finding)
    assert relates(EMPTY_DIR_NOTE | {"terms": [{"term": "CronJob", "type": "kind"}]}, {"subject": "batch/v1 cronjobs"})
    assert relates(
        EMPTY_DIR_NOTE | {"terms": [{"term": "spec.externalIPs", "type": "field-path"}]}, {"detail": "externalIPs"}
    )
    other_hop = Finding("object-drift", Severity.WARNING, "v1.35.4>v1.36.3", DRIFT.subject, DRIFT.detail)
    summary = run_summary(notes_record(EMPTY_DIR_NOTE), [other_hop])
    assert summary["cells"][0]["hops"][0]["release_notes"]["notes"][0]["related"] == []


def test_notes_change_no_verdict_and_no_count() -> None:
    with_notes = run_summary(notes_record(EMPTY_DIR_NOTE, HTTP_GET_NOTE), [DRIFT])
    without = run_summary(None, [DRIFT])
    for key in ("verdict", "counts"):
        assert with_notes[key] == without[key]
    assert [c["verdict"] for c in with_notes["cells"]] == [c["verdict"] for c in without["cells"]]


def test_the_verdict_shows_related_notes_and_counts_the_others() -> None:
    summary = run_summary(notes_record(EMPTY_DIR_NOTE, HTTP_GET_NOTE), [DRIFT])
    text = render_verdict(summary)
    assert text.startswith("spin-harness gate: PASS")
    block = text.split("RELEASE NOTES (information, 2):", 1)[1]
    assert "[v1.37.0 API Change #140244] Added support for setting Unix permission bits" in block
    assert "explains [object-drift] tenant-a/Deployment/web" in block
    assert "https://github.com/kubernetes/kubernetes/pull/140244" in block
    assert "1 more note(s) mention what the tenants use (1 API Change)" in block
    assert "httpGet" not in block
    markdown = render_verdict(summary, markdown=True)
    assert "### Release notes (information)" in markdown and "`v1.37.0 API Change #140244`" in markdown


def test_the_verdict_says_when_notes_are_unavailable_or_none_apply() -> None:
    missing = run_summary(unavailable(HOP, "no k8s.io/kubernetes module of 1.37 in the Go module cache"), [])
    assert f"release notes unavailable for {HOP}: no k8s.io/kubernetes module of 1.37" in render_verdict(missing)
    none = run_summary(notes_record(), [])
    assert "none of the 82 upgrade notes of v1.37.0, v1.37.1 mentions what the tenants use" in render_verdict(none)
    platform_only = run_summary(None, [])
    assert "RELEASE NOTES" not in render_verdict(platform_only)


def test_the_html_report_shows_notes_beside_findings_and_in_their_own_section(tmp_path: Path) -> None:
    summary = run_summary(notes_record(EMPTY_DIR_NOTE, HTTP_GET_NOTE), [DRIFT])
    page = render_html(summary, tmp_path)
    findings, notes_section = page.split('<h2 id="release-notes">', 1)
    beside = findings.split("tenant-a/Deployment/web differs after the hop", 1)[1].split("</tr>", 1)[0]
    assert "v1.37.0 API Change #140244" in beside and "Unix permission bits" in beside
    assert "Added a `protocol` field to `httpGet` probes" in notes_section
    assert 'title="volume: apps/v1 Deployment tenant-a/web (web.yaml)">emptyDir</code>' in notes_section
    assert "not in this module's changelog yet: v1.37.2" in notes_section
    assert '<a href="https://github.com/kubernetes/kubernetes/pull/139429">#139429</a>' in notes_section


def test_the_html_report_says_when_notes_are_unavailable(tmp_path: Path) -> None:
    page = render_html(run_summary(unavailable(HOP, "turned off (SPIN_HARNESS_RELEASE_NOTES=off)"), []), tmp_path)
    assert escape(f"release notes unavailable for {HOP}: turned off (SPIN_HARNESS_RELEASE_NOTES=off)") in page
