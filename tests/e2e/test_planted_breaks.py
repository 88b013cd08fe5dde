"""The API detectors, proven on a real matrix run: breaks planted in a hop reach ``summary.json``.

One matrix, two cells on the local provider, both replaying the same tenants
(``planted_breaks/tenants``) and making the same Kubernetes hop (the ``e2e_versions``):

- the planted cell moves the platform component ``hpc-platform`` from v1 to v2 inside the hop
  (``platform.steps`` with ``with_kubernetes: true``; the manifests are in
  ``planted_breaks/platform``), and v2 breaks one tenant object per detector: a retyped CRD
  field (``schema-change``), a default the apiserver now fills in on read (``object-drift``), a
  ClusterRole that lost a verb (``rbac-change``), a ValidatingAdmissionPolicy (``admission-change``),
  a CRD version no longer served (``removed-api``) and a validation limit (``dry-run-rejected``);
- the control cell makes the same hop with the platform left at v1, and must find none of it.

Every break is made by the real apiserver answering differently, read by the cell's detector
loop, passed through the matrix's allow-list and written to ``summary.json``; the tests assert
the exact kind, severity, subject and evidence there. The allow-list accepts the rbac-change
(it no longer fails its item) and holds an expired entry for the admission-change (it counts
again, and says why). The two cells run side by side (``-n 2``): one run, about the time of one
cell.

The other kinds are proven on real runs elsewhere, each with its control:
``disruption`` in ``test_run.py`` (a zero budget; the smoke run passes within the smoke budget)
and ``test_faults.py`` (an apiserver frozen past the budget); ``api-warning`` in
``test_api_warnings.py`` (gate runs with and without the warned-about manifests);
``deprecated-api`` in ``test_attribution.py`` (a tenant's v1 Endpoints, and a clean tenant whose
only deprecated-API findings are the control plane's, as ``info``).

``workload-health`` is proven in ``test_workload_health.py``, on a live cluster through a real
``SnapshotContext`` and not through a matrix run: the local provider's hop does not take pods
away from its nodes, so a matrix cell here would give it nothing to find.

Adding a kind: plant its break in ``platform/hpc-platform/v2`` against a tenant object of its
own in ``tenants/``, add what it must find to ``EXPECTED`` (the planted cell's findings must
then be exactly that table), and a test asserting its evidence below.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.versions import KubeVersion
from tests.e2e.test_run import run_matrix

pytestmark = pytest.mark.e2e

DATA = Path(__file__).parent / "planted_breaks"
TENANTS = DATA / "tenants"
COMPONENT = "hpc-platform"
GROUP = "hpc.spin.example"
ACCEPTED = "submitters may no longer delete scheduled jobs; agreed with tenant beta in OPS-2041"
EXPIRED = "tenant beta moved off the host network; accepted for the migration in OPS-1877"

#: Every finding above ``info`` the planted cell must report, and the allow-listed one:
#: (kind, severity in summary.json, subject). Nothing else above ``info`` may appear.
EXPECTED = {
    ("schema-change", "breaking", f"{GROUP}/v1 Simulation spec.cores"),
    ("dry-run-rejected", "breaking", f"{GROUP}/v1 Simulation tenant-alpha/climate"),  # the same retyped field
    ("object-drift", "warning", f"tenant-alpha/{GROUP}/v1/Simulation/ocean"),
    ("rbac-change", "info", "User:beta-submitter@tenant-beta delete batch/cronjobs"),  # accepted: breaking
    ("admission-change", "breaking", "tenant-beta/host-network"),  # its allow-list entry expired
    ("removed-api", "breaking", f"{GROUP}/v1alpha1"),
    ("dry-run-rejected", "breaking", f"{GROUP}/v1alpha1 Dataset tenant-beta/archive"),  # the same removal
    ("dry-run-rejected", "breaking", f"{GROUP}/v1 Simulation tenant-beta/sweep"),
}


@dataclass(frozen=True)
class PlantedRun:
    """The one matrix run every test here reads: its exit code, ``summary.json`` and both cells."""

    returncode: int
    output: str
    summary: dict[str, Any]
    planted: dict[str, Any]
    control: dict[str, Any]
    hop: str
    accepted_until: dt.date
    expired_on: dt.date

    def finding(self, kind: str, subject: str) -> dict[str, Any]:
        """The planted cell's one finding of ``kind`` about ``subject``."""
        found = [f for f in self.planted["findings"] if f["kind"] == kind and f["subject"] == subject]
        assert len(found) == 1, f"{kind} {subject}: {found}\n" + json.dumps(self.planted["findings"], indent=1)[:6000]
        return found[0]

    def outcome(self, cell: dict[str, Any], detector: str) -> str:
        """How ``detector``'s item in ``cell`` ended: passed, failed or skipped."""
        [item] = [i for i in cell["items"] if i["scenario"] == "detectors" and i["phase"].startswith(f"{detector}@")]
        return str(item["outcome"])


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory, e2e_versions: tuple[KubeVersion, KubeVersion]) -> PlantedRun:
    older, newer = e2e_versions
    tmp = tmp_path_factory.mktemp("planted-breaks")
    today = dt.date.today()
    accepted_until, expired_on = today + dt.timedelta(days=30), today - dt.timedelta(days=1)
    (tmp / "allowlist.yaml").write_text(
        "entries:\n"
        "  - kind: rbac-change\n"
        '    subject: "User:beta-submitter@tenant-beta delete *"\n'
        f'    reason: "{ACCEPTED}"\n'
        f"    expires: {accepted_until.isoformat()}\n"
        "  - kind: admission-change\n"
        '    subject: "tenant-beta/host-network"\n'
        f'    reason: "{EXPIRED}"\n'
        f"    expires: {expired_on.isoformat()}\n"
    )
    matrix = tmp / "planted-breaks.yaml"
    matrix.write_text(
        "name: planted-breaks\nproviders: [local]\npaths:\n"
        f'  - hops: ["{older}", "{newer}"]\n'
        f"    platform_steps: [{{at_hop: 1, component: {COMPONENT}, to: v2, with_kubernetes: true}}]\n"
        f'  - hops: ["{older}", "{newer}"]\n'
        "    platform_steps: []\n"
        f"platform:\n  components:\n    {COMPONENT}: {{versions: [v1, v2]}}\n"
        'scenarios: {include: ["*"], exclude: ["*"]}\n'
        # This run is about detectors: a restart slowed by a busy machine is not its subject.
        "probes: {budget: {api_max_outage_seconds: 300, min_availability: 0.0}}\n"
        f"workloads: [{TENANTS}]\n"
        "allowlist: allowlist.yaml\n"
    )
    report = tmp / "report"
    result = run_matrix(matrix, report, "-n", "2", env_extra={"SPIN_HARNESS_PLATFORM": str(DATA / "platform")})
    output = result.stdout[-4000:] + result.stderr[-3000:]
    assert (report / "summary.json").is_file(), output
    summary = json.loads((report / "summary.json").read_text())
    cells = {cell["id"]: cell for cell in summary["cells"]}
    planted_id, control_id = f"local:{older}>{newer}+{COMPONENT}@v2", f"local:{older}>{newer}"
    assert set(cells) == {planted_id, control_id}, output
    return PlantedRun(
        result.returncode,
        output,
        summary,
        cells[planted_id],
        cells[control_id],
        f"{older}>{newer}+{COMPONENT}@v2",
        accepted_until,
        expired_on,
    )


def _above_info(cell: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(f["kind"], f["severity"], f["subject"]) for f in cell["findings"] if f["severity"] != "info"}


def test_the_planted_cell_reports_every_break_and_nothing_else(planted_run: PlantedRun) -> None:
    run = planted_run
    accepted = {key for key in EXPECTED if key[1] == "info"}
    assert _above_info(run.planted) | accepted == EXPECTED, json.dumps(run.planted["findings"], indent=1)[:6000]
    for kind, _, subject in EXPECTED:
        assert run.finding(kind, subject)["hop"] == run.hop
    # Platform findings fail the cell, never the harness: exit 1, no error anywhere.
    assert (run.returncode, run.summary["verdict"], run.planted["verdict"]) == (1, "failed", "failed"), run.output
    assert run.summary["errors"] == []
    failed = {i["phase"].split("@")[0] for i in run.planted["items"] if i["outcome"] == "failed"}
    assert failed == {"schema-change", "dry-run-rejected", "removed-api", "admission-change"}
    assert all(i["blame"] == "platform" for i in run.planted["items"] if i["outcome"] == "failed")


def test_the_control_cell_without_the_platform_move_finds_none_of_it(planted_run: PlantedRun) -> None:
    run = planted_run
    control = run.control
    assert control["verdict"] == "passed", json.dumps(control["findings"], indent=1)[:4000]
    assert _above_info(control) == set()
    planted_subjects = {(kind, subject) for kind, _, subject in EXPECTED}
    assert [f for f in control["findings"] if (f["kind"], f["subject"]) in planted_subjects] == []
    ran = {i["phase"].split("@")[0] for i in control["items"] if i["scenario"] == "detectors"}
    assert {kind for kind, _, _ in EXPECTED} <= ran, "every planted kind's detector ran in the control cell too"
    assert all(i["outcome"] == "passed" for i in control["items"] if i["scenario"] == "detectors")


def test_a_retyped_crd_field_a_tenant_sets_is_a_breaking_schema_change(planted_run: PlantedRun) -> None:
    finding = planted_run.finding("schema-change", f"{GROUP}/v1 Simulation spec.cores")
    assert finding["severity"] == "breaking"
    assert finding["evidence"] == {
        "before": {"type": "integer", "required": False},
        "after": {"type": "string", "required": False},
        "objects_setting_it": ["tenant-alpha/climate"],
    }
    assert finding["detail"] == (
        f"{GROUP}/v1 Simulation: field spec.cores changed type integer -> string; "
        "tenant objects setting it: tenant-alpha/climate"
    )


def test_a_default_the_apiserver_fills_in_on_read_is_object_drift(planted_run: PlantedRun) -> None:
    finding = planted_run.finding("object-drift", f"tenant-alpha/{GROUP}/v1/Simulation/ocean")
    # Only a field added: a warning (tenants' tooling diffing against it sees a change).
    assert finding["severity"] == "warning"
    assert finding["evidence"] == {"diff": {"dictionary_item_added": {"root['spec']['checkpoint']['interval']": "1h"}}}
    # The Simulations without a checkpoint get no default, and read back unchanged.
    drifted = [f["subject"] for f in planted_run.planted["findings"] if f["kind"] == "object-drift"]
    assert drifted == [f"tenant-alpha/{GROUP}/v1/Simulation/ocean"]


def test_an_accepted_rbac_change_is_info_and_no_longer_fails_its_item(planted_run: PlantedRun) -> None:
    run = planted_run
    finding = run.finding("rbac-change", "User:beta-submitter@tenant-beta delete batch/cronjobs")
    assert finding["severity"] == "info"
    assert finding["evidence"] == {"before": True, "after": False, "allowed_severity": "breaking"}
    assert finding["detail"] == (
        f"allowed until {run.accepted_until} ({ACCEPTED}): "
        "User:beta-submitter@tenant-beta delete batch/cronjobs: now denied (was allowed)"
    )
    # The role kept its other verbs: nothing else about the submitter changed.
    assert [f["subject"] for f in run.planted["findings"] if f["kind"] == "rbac-change"] == [finding["subject"]]
    assert run.outcome(run.planted, "rbac-change") == "passed"


def test_a_new_admission_policy_flips_a_probe_and_an_expired_acceptance_does_not_hide_it(
    planted_run: PlantedRun,
) -> None:
    run = planted_run
    finding = run.finding("admission-change", "tenant-beta/host-network")
    assert finding["severity"] == "breaking"
    evidence = finding["evidence"]
    assert evidence["allowlist"] == f"entry expired on {run.expired_on}: {EXPIRED}"
    assert evidence["before"] == {
        "allowed": True,
        "denial": "",
        "mutation": evidence["before"]["mutation"],
        "waited": 0.0,
    }
    after = evidence["after"]
    assert (after["allowed"], after["mutation"], after["waited"]) == (False, {}, 0.0)
    assert after["denial"].startswith("422 Invalid: ")
    assert "ValidatingAdmissionPolicy 'hpc-no-host-network'" in after["denial"]
    assert "pods of this tenant may not use the host network" in after["denial"]
    assert finding["detail"].startswith("probe pod tenant-beta/host-network: now denied (422 Invalid: ")
    # The binding selects tenant beta only; tenant alpha's probes are answered as before.
    flipped = [f["subject"] for f in run.planted["findings"] if f["kind"] == "admission-change"]
    assert flipped == ["tenant-beta/host-network"]
    assert run.outcome(run.planted, "admission-change") == "failed"


def test_a_crd_version_no_longer_served_is_a_breaking_removed_api_naming_the_manifest(
    planted_run: PlantedRun,
) -> None:
    finding = planted_run.finding("removed-api", f"{GROUP}/v1alpha1")
    assert finding["severity"] == "breaking"
    evidence = finding["evidence"]
    manifest = TENANTS / "tenant-beta" / "Dataset-archive.yaml"
    assert (evidence["in_use"], evidence["resources_before"], evidence["replacement"]) == (
        True,
        ["datasets"],
        f"{GROUP}/v1",
    )
    assert any(str(manifest) in where for where in evidence["manifests"]), evidence["manifests"]
    assert finding["detail"].startswith(f"{GROUP}/v1alpha1 is no longer served and tenant manifests use it")
    assert finding["detail"].endswith(f"; use {GROUP}/v1 instead")


def test_manifests_the_target_platform_rejects_are_breaking_dry_run_rejections(planted_run: PlantedRun) -> None:
    run = planted_run
    expected = {
        f"{GROUP}/v1 Simulation tenant-beta/sweep": (
            "Simulation-sweep.yaml",
            "should be less than or equal to 100",
        ),
        f"{GROUP}/v1 Simulation tenant-alpha/climate": ("Simulation-climate.yaml", ".spec.cores: expected string"),
        f"{GROUP}/v1alpha1 Dataset tenant-beta/archive": ("Dataset-archive.yaml", "is not served"),
    }
    for subject, (file, message) in expected.items():
        finding = run.finding("dry-run-rejected", subject)
        assert finding["severity"] == "breaking", finding
        evidence = finding["evidence"]
        namespace = subject.split(" ")[-1].split("/")[0]
        assert evidence["manifest"] == str(TENANTS / namespace / file)
        assert (evidence["document"], evidence["rejected_at_source"]) == (1, False)
        assert message in evidence["server_message"], evidence
        kind, name = subject.split(" ")[1], subject.split("/")[-1]
        assert evidence["object"] == f"{namespace}/{kind}/{name}"
        assert finding["detail"].startswith(f"{run.hop.split('>')[1].split('+')[0]} rejects {subject} (")
    # The manifests v2 still accepts are not named.
    rejected = {f["subject"] for f in run.planted["findings"] if f["kind"] == "dry-run-rejected"}
    assert rejected == set(expected)
