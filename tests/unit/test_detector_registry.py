"""The detector registry: one list the cell, the items and the allow-list all follow."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.allowlist import KINDS as ALLOWED_KINDS
from harness.allowlist import AllowEntry, AllowList
from harness.detectors import deprecation, discovery, disruption, dry_run
from harness.detectors.attribution import Actor, Attribution, Use
from harness.detectors.base import ApiDetector, HopContext
from harness.detectors.registry import DETECTORS, KINDS, detector
from harness.errors import HarnessError
from harness.findings import Finding, Severity
from harness.matrix import ProbeBudget
from harness.run.cell import CellRun
from harness.run.hop_record import HopRecord
from harness.versions import KubeVersion

HOP = "v1.36.3>v1.37.2"
TARGET = KubeVersion.parse("v1.37.2")


def hop_context(**changes: Any) -> HopContext:
    return HopContext(HOP, TARGET, ProbeBudget(), **changes)


def test_the_registry_keeps_the_detectors_and_their_order() -> None:
    assert KINDS == (
        "removed-api",
        "deprecated-api",
        "dry-run-rejected",
        "schema-change",
        "object-drift",
        "rbac-change",
        "admission-change",
        "api-warning",
        "workload-health",
        "disruption",
    )
    assert ALLOWED_KINDS == KINDS, "the allow-list accepts exactly the kinds the detectors report"
    assert detector("rbac-change") is DETECTORS[5]
    with pytest.raises(HarnessError, match="unknown detector nope: one of removed-api"):
        detector("nope")


def test_api_detectors_read_twice_the_others_once() -> None:
    assert {d.name for d in DETECTORS if d.reads_after} == {
        "removed-api",
        "schema-change",
        "object-drift",
        "rbac-change",
        "admission-change",
        "api-warning",
        "workload-health",
    }


def test_an_api_detector_compares_what_its_module_compares() -> None:
    before = {"batch/v1beta1": ["cronjobs"], "batch/v1": ["cronjobs", "jobs"]}
    after = {"batch/v1": ["cronjobs", "jobs"]}
    users = {"batch/v1beta1": ["w/cron.yaml"]}
    found = discovery.DETECTOR.compare(before, after, hop_context(api_users=lambda: users))
    assert found == discovery.compare(before, after, HOP, users=users)
    assert found and found[0].severity is Severity.BREAKING
    with pytest.raises(HarnessError, match="removed-api: no snapshot was taken after the hop"):
        discovery.DETECTOR.compare(before, None, hop_context())


def test_an_api_detector_snapshot_is_timed_and_reads_the_shared_client() -> None:
    timings: dict[str, float] = {}

    def timed(name: str, action: Any) -> Any:
        timings[name] = 1.0
        return action()

    example = ApiDetector[str]("example", lambda api: f"read {api}", lambda b, a, hop: [])
    ctx: Any = SimpleNamespace(api="client", version="v1.36.3", timed=timed)
    assert example.snapshot(ctx) == "read client"
    assert timings == {"snapshot@v1.36.3": 1.0}


def test_deprecation_judges_against_the_hop_target() -> None:
    api = "flowcontrol.apiserver.k8s.io/v1beta3 flowschemas"
    use = Use(api, Actor.TENANT, "system:serviceaccount:tenant-a:ci", "list", "flowschemas")
    snapshot = deprecation.DeprecationSnapshot({api: "1.37"}, {api: Attribution(tenant=[use])})
    found = deprecation.DETECTOR.compare(snapshot, None, hop_context())
    assert found == deprecation.compare(snapshot, HOP, TARGET)
    assert found[0].severity is Severity.BREAKING


def test_dry_run_hands_on_what_the_scratch_cluster_said() -> None:
    rejected = Finding("dry-run-rejected", Severity.BREAKING, HOP, "w/Deploy/x", "rejected")
    assert dry_run.DETECTOR.compare([rejected], None, hop_context()) == [rejected]
    ctx: Any = SimpleNamespace(workloads=list, upgrade=True)
    assert dry_run.dry_run_on_target(ctx) == [], "no workloads: no scratch cluster"


def _timeline(outage: float) -> disruption.Timeline:
    timeline = disruption.Timeline("kube-apiserver")
    timeline.attempts = [
        disruption.Attempt(0.0, True, 0.01),
        disruption.Attempt(1.0, False, 0.0, "refused"),
        disruption.Attempt(1.0 + outage, True, 0.01),
    ]
    return timeline


def test_disruption_uses_the_matrix_budget_per_target() -> None:
    budget = ProbeBudget(api_max_outage_seconds=2, min_availability=0.1)
    assert disruption.budgets(budget)["api"] == disruption.Budget(2, 0.1)
    timelines = [_timeline(5.0)]
    found = disruption.DETECTOR.compare(None, None, HopContext(HOP, TARGET, budget, timelines))
    assert found == disruption.judge(timelines, disruption.budgets(budget), HOP)
    assert [f.severity for f in found] == [Severity.BREAKING]


def test_the_cell_runs_a_detector_by_name_then_allow_lists_and_keeps_its_findings(tmp_path: Path) -> None:
    allow = AllowList(
        entries=[AllowEntry(kind="disruption", subject="kube-apiserver", reason="known restart", expires="2999-01-01")]
    )
    cell: Any = SimpleNamespace(id="local:v1.36.3>v1.37.2")
    run = CellRun(cell, provider=None, scenarios=[], budget=ProbeBudget(), artifacts=tmp_path, allowlist=allow)  # type: ignore[arg-type]
    with pytest.raises(HarnessError, match="no snapshot was taken before the hop"):
        run.hops.append(HopRecord(1, "v1.36.3", "v1.37.2", timelines=[_timeline(9.0)]))
        run.detect("disruption")
    run._before = {"disruption": None}
    found = run.detect("disruption")
    assert [(f.kind, f.severity, f.subject) for f in found] == [("disruption", Severity.INFO, "kube-apiserver")]
    assert run.hops[-1].findings == found
