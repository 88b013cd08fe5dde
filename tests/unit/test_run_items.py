"""Run items: ids built from one identity type, records serialised in one place."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.findings import Finding, Severity
from harness.matrix import load_matrix
from harness.report.serialise import REPORT_ATTRIBUTE, from_wire, junit_properties, summary_entry, to_wire
from harness.run.identity import Group, ItemId, Phase
from harness.run.items import cell_plan, stop_after
from harness.run.matrix_plugin import MatrixPlugin
from harness.run.records import HopReport, ItemRecord
from harness.run.stash import CELL_RUNS
from harness.run.summary import Summary
from harness.versions import KubeVersion

MATRICES = Path(__file__).resolve().parents[2] / "matrices"
AVAILABLE = [
    KubeVersion(1, minor, patch) for minor, count in ((34, 7), (35, 5), (36, 4), (37, 3)) for patch in range(count)
]
CELL = "local:v1.36.3>v1.37.2"


def test_an_item_id_reads_like_the_matrix() -> None:
    item = ItemId(CELL, "tenant-rbac", Phase.VERIFY, "v1.37.2")
    assert item.id == "local:v1.36.3>v1.37.2::tenant-rbac::verify@v1.37.2"
    assert (item.name, item.step) == ("tenant-rbac::verify@v1.37.2", "verify@v1.37.2")
    assert not item.breaks_cell and not item.is_cell_delete
    assert ItemId(CELL, Group.UPGRADE, Phase.HOP, "v1.37.2").breaks_cell
    assert ItemId(CELL, Group.CLUSTER, Phase.DELETE, "v1.37.2").is_cell_delete


def test_a_cell_plan_is_the_items_in_the_order_a_cell_runs() -> None:
    (cell,) = load_matrix(MATRICES / "smoke.yaml", AVAILABLE).cells
    names = [item.name for item, _action in cell_plan(cell, ["a", "b"], workloads=True)]
    assert names == [
        "cluster::create@v1.36.3",
        "a::setup@v1.36.3",
        "b::setup@v1.36.3",
        "workloads::replay@v1.36.3",
        "a::verify@v1.36.3",
        "b::verify@v1.36.3",
        "upgrade::hop@v1.37.2",
        "cluster::health@v1.37.2",
        "a::during@v1.37.2",
        "b::during@v1.37.2",
        "a::verify@v1.37.2",
        "b::verify@v1.37.2",
        "detectors::removed-api@v1.37.2",
        "detectors::deprecated-api@v1.37.2",
        "detectors::dry-run-rejected@v1.37.2",
        "detectors::schema-change@v1.37.2",
        "detectors::object-drift@v1.37.2",
        "detectors::rbac-change@v1.37.2",
        "detectors::admission-change@v1.37.2",
        "detectors::api-warning@v1.37.2",
        "detectors::workload-health@v1.37.2",
        "detectors::disruption@v1.37.2",
        "b::teardown@v1.37.2",
        "a::teardown@v1.37.2",
        "cluster::delete@v1.37.2",
    ]


def test_stop_after_cuts_each_cell_at_the_last_item_of_a_phase() -> None:
    (cell,) = load_matrix(MATRICES / "smoke.yaml", AVAILABLE).cells
    plan = [item for item, _ in cell_plan(cell, ["a"], workloads=False)]
    items: list[Any] = [SimpleNamespace(identity=item) for item in plan]
    kept, dropped = stop_after(items, "verify")
    assert kept[-1].identity.name == "a::verify@v1.37.2" and len(kept) + len(dropped) == len(items)
    kept, _ = stop_after(items, "verify@v1.36.3")
    assert kept[-1].identity.name == "a::verify@v1.36.3"
    assert stop_after(items, "nope") == ([], items)


def record() -> ItemRecord:
    finding = Finding(
        "disruption", Severity.BREAKING, "v1.36.3>v1.37.2", "kube-apiserver", "down", {"outages": [[1, 2]]}
    )
    return ItemRecord(
        ItemId(CELL, Group.DETECTORS, "disruption", "v1.37.2"),
        f"m.yaml::{CELL}::detectors::disruption@v1.37.2",
        cause="assertion",
        timings={"create@v1.36.3": 8.0},
        hop=HopReport("v1.36.3>v1.37.2", 9.5, [{"task": "t", "status": "ok", "seconds": 1.0, "message": ""}], [], []),
        findings=[finding],
        repro="spin-harness repro 'x' --matrix m.yaml",
    )


def test_a_record_crosses_the_wire_unchanged() -> None:
    assert from_wire(to_wire(record())) == record()
    empty = ItemRecord(ItemId(CELL, Group.CLUSTER, Phase.CREATE, "v1.36.3"), "n")
    assert from_wire(to_wire(empty)) == empty


def _builtin_only(value: object) -> bool:
    if type(value) in (dict,):
        return all(type(k) is str and _builtin_only(v) for k, v in value.items())  # type: ignore[attr-defined]
    if type(value) in (list, tuple):
        return all(_builtin_only(v) for v in value)  # type: ignore[attr-defined]
    return type(value) in (str, int, float, bool, type(None))


def test_wire_data_is_builtin_types_only_for_pytest_xdist() -> None:
    assert _builtin_only(to_wire(record()))


def test_junit_properties_keep_their_names_order_and_values() -> None:
    properties = junit_properties(record())
    assert [name for name, _ in properties] == ["cause", "timings", "hop", "findings"]
    assert properties[2][1] == {
        "label": "v1.36.3>v1.37.2",
        "seconds": 9.5,
        "playbook": [{"task": "t", "status": "ok", "seconds": 1.0, "message": ""}],
        "timelines": [],
        "faults": [],
    }
    assert properties[3][1] == [record().findings[0].to_json()]  # type: ignore[index]


def test_summary_json_is_built_from_records() -> None:
    summary = Summary(matrix="m.yaml")
    summary.add(*summary_entry(record(), "failed", 1.234, "boom"))
    out = summary.to_json()
    (cell,) = out["cells"]
    assert cell["items"] == [
        {
            "nodeid": f"m.yaml::{CELL}::detectors::disruption@v1.37.2",
            "cell": CELL,
            "scenario": "detectors",
            "phase": "disruption@v1.37.2",
            "outcome": "failed",
            "seconds": 1.23,
            "message": "boom",
            "cause": "assertion",
            "steps": [],
            "blame": "platform",
        }
    ]
    assert cell["hops"][0]["label"] == "v1.36.3>v1.37.2" and cell["timings"] == {"create@v1.36.3": 8.0}
    assert cell["repro"].startswith("spin-harness repro") and cell["verdict"] == "failed"
    assert out["findings"][0]["kind"] == "disruption" and out["findings"][0]["cell"] == CELL


def _report(when: str, outcome: str, data: dict[str, Any] | None) -> pytest.TestReport:
    report = pytest.TestReport("x", ("m.yaml", 0, "x"), {}, outcome, None, when)  # type: ignore[arg-type]
    if data is not None:
        setattr(report, REPORT_ATTRIBUTE, data)
    return report


def test_the_matrix_plugin_builds_the_summary_from_the_records_reports_carry(tmp_path: Path) -> None:
    config: Any = SimpleNamespace(stash=pytest.Stash(), getoption=lambda name: str(tmp_path))
    plugin = MatrixPlugin(config, "m.yaml", load_matrix(MATRICES / "smoke.yaml", AVAILABLE))
    assert plugin.summary is not None and config.stash[CELL_RUNS] == {}
    plugin.pytest_runtest_logreport(_report("call", "failed", to_wire(record())))
    plugin.pytest_runtest_logreport(_report("teardown", "passed", to_wire(record())))  # not an item result
    plugin.pytest_runtest_logreport(_report("call", "passed", None))  # not a matrix item
    [item] = plugin.summary.items
    assert (item.nodeid, item.outcome, item.cause) == (record().nodeid, "failed", "assertion")
    assert plugin.summary.cell_data[CELL]["repro"] == record().repro
