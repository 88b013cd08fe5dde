"""Planted regressions: each detector fires on its regression and names the culprit.

The compare halves are pure, so the planted snapshots here are exactly what the snapshot
halves read from clusters; the e2e tests cover the snapshot halves against real apiservers.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.detectors import admission, deprecation, discovery, disruption, drift, dry_run, rbac, schema
from harness.detectors.attribution import Tenancy
from harness.detectors.webhook_silence import Patience, Silence, silence
from harness.findings import Finding, Severity, has_breaking, most_severe_per_subject
from harness.report.actions import fix
from harness.tenancy import harness_owned, tenant_objects
from harness.versions import KubeVersion
from harness.workloads.replay import ApplyResult, Manifest

HOP = "v1.36.3>v1.37.2"

DISCOVERY = {
    "v1": ["configmaps", "pods", "secrets"],
    "batch/v1": ["cronjobs", "jobs"],
    "platform.spin.example/v1alpha1": ["projects"],
    "platform.spin.example/v1": ["projects"],
}


def test_removed_group_version_in_use_is_breaking() -> None:
    after = {k: v for k, v in DISCOVERY.items() if k != "platform.spin.example/v1alpha1"}
    findings = discovery.compare(DISCOVERY, after, HOP, in_use={"platform.spin.example/v1alpha1"})
    assert [(f.kind, f.severity, f.subject) for f in findings] == [
        ("removed-api", Severity.BREAKING, "platform.spin.example/v1alpha1")
    ]
    assert "tenant manifests use it" in findings[0].detail


def test_removed_group_version_no_tenant_uses_is_information_naming_the_scenarios_that_do() -> None:
    after = {k: v for k, v in DISCOVERY.items() if k != "platform.spin.example/v1alpha1"}
    assert [f.severity for f in discovery.compare(DISCOVERY, after, HOP)] == [Severity.INFO]
    scenario = {"platform.spin.example/v1alpha1": ["scenario platform-crd"]}
    [finding] = discovery.compare(DISCOVERY, after, HOP, harness_users=scenario)
    assert finding.severity is Severity.INFO, "the harness's own scenario manifests never count against tenants"
    assert "only the harness's scenario platform-crd" in finding.detail


def test_removed_resource_is_named() -> None:
    after = copy.deepcopy(DISCOVERY)
    after["batch/v1"] = ["jobs"]
    findings = discovery.compare(DISCOVERY, after, HOP)
    assert [(f.subject, f.severity) for f in findings] == [("batch/v1 cronjobs", Severity.INFO)]


def test_unchanged_discovery_has_no_findings() -> None:
    assert discovery.compare(DISCOVERY, copy.deepcopy(DISCOVERY), HOP) == []


def _object(uid: str = "u-1", **data: str) -> dict[str, object]:
    return drift.normalise(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "settings",
                "namespace": "tenant-a",
                "uid": uid,
                "resourceVersion": "7",
                "managedFields": [{"manager": "x"}],
            },
            "data": data or {"k": "v"},
        }
    )


KEY = "tenant-a/v1/ConfigMap/settings"


def test_drift_ignores_server_managed_fields() -> None:
    before = {KEY: _object()}
    moved = _object()
    assert "resourceVersion" not in moved["metadata"]  # type: ignore[operator]
    assert drift.compare(before, {KEY: moved}, HOP) == []


def test_changed_value_is_breaking_drift() -> None:
    findings = drift.compare({KEY: _object(k="v")}, {KEY: _object(k="other")}, HOP)
    assert [(f.kind, f.severity, f.subject) for f in findings] == [("object-drift", Severity.BREAKING, KEY)]


def test_added_default_is_a_warning() -> None:
    after = _object()
    after["immutable"] = False  # a field the new version defaults
    findings = drift.compare({KEY: _object()}, {KEY: after}, HOP)
    assert [f.severity for f in findings] == [Severity.WARNING]


def test_vanished_and_recreated_objects_are_breaking() -> None:
    assert "is gone" in drift.compare({KEY: _object()}, {}, HOP)[0].detail
    recreated = drift.compare({KEY: _object(uid="u-1")}, {KEY: _object(uid="u-2")}, HOP)
    assert "recreated" in recreated[0].detail and recreated[0].severity is Severity.BREAKING


def test_secret_values_never_reach_drift_evidence() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "uid": "1"},
        "data": {"password": "aHVudGVyMg=="},
        "stringData": {"token": "plain-secret-value"},
    }
    normalised = drift.normalise(secret)
    text = repr(normalised)
    assert "aHVudGVyMg==" not in text and "plain-secret-value" not in text
    changed = copy.deepcopy(secret)
    changed["data"] = {"password": "c2VjcmV0LXR3bw=="}
    findings = drift.compare({"k": normalised}, {"k": drift.normalise(changed)}, HOP)
    assert findings and "c2VjcmV0LXR3bw==" not in repr(findings[0].evidence)


def test_role_losing_a_verb_is_a_breaking_rbac_change() -> None:
    key = "User:alpha-member@tenant-alpha create apps/deployments"
    before = {key: True, "User:alpha-viewer@tenant-alpha get core/pods": True}
    after = dict(before, **{key: False})
    findings = rbac.compare(before, after, HOP)
    assert [(f.kind, f.severity, f.subject) for f in findings] == [("rbac-change", Severity.BREAKING, key)]
    assert "now denied" in findings[0].detail


def test_new_grant_is_also_breaking() -> None:
    key = "Group:beta-members@tenant-alpha get core/secrets"
    findings = rbac.compare({key: False}, {key: True}, HOP)
    assert findings[0].severity is Severity.BREAKING and "now allowed" in findings[0].detail


ADMITTED = admission.Answer(True, mutation={"labels": {"app": "p", "platform.spin.example/tenant": "alpha"}})
DENIED = admission.Answer(
    False, '403 Forbidden: pods "spin-admission-probe-privileged" is forbidden: violates PodSecurity'
)


def test_admission_flip_is_breaking_both_ways() -> None:
    before = {"tenant-alpha/restricted": ADMITTED, "tenant-alpha/privileged": DENIED}
    after = {"tenant-alpha/restricted": DENIED, "tenant-alpha/privileged": ADMITTED}
    findings = admission.compare(before, after, HOP)
    assert [(f.subject, f.severity) for f in findings] == [
        ("tenant-alpha/privileged", Severity.BREAKING),
        ("tenant-alpha/restricted", Severity.BREAKING),
    ]
    assert "now admitted" in findings[0].detail and "now denied" in findings[1].detail
    assert findings[1].evidence["after"]["denial"] == DENIED.denial


def test_admission_mutation_change_names_the_field() -> None:
    unlabelled = admission.Answer(True, mutation={"labels": {"app": "p"}})
    findings = admission.compare({"tenant-alpha/restricted": ADMITTED}, {"tenant-alpha/restricted": unlabelled}, HOP)
    assert [f.severity for f in findings] == [Severity.BREAKING]
    assert "sets labels differently" in findings[0].detail
    assert "platform.spin.example/tenant" in json.dumps(findings[0].evidence["diff"])


def test_admission_same_answers_are_quiet_and_new_wording_is_info() -> None:
    same = {"tenant-alpha/restricted": ADMITTED, "tenant-alpha/privileged": DENIED}
    assert admission.compare(same, copy.deepcopy(same), HOP) == []
    reworded = admission.Answer(False, DENIED.denial + " (privileged=true)")
    findings = admission.compare(same, {**same, "tenant-alpha/privileged": reworded}, HOP)
    assert [(f.subject, f.severity) for f in findings] == [("tenant-alpha/privileged", Severity.INFO)]


REFUSED = (
    "500 InternalError: Internal error occurred: "
    'failed calling webhook "validate.pods.in-cluster.platform.spin.example": '
    'failed to call webhook: Post "https://spin-platform-webhook.spin-webhook.svc:443/validate?timeout=5s": '
    "dial tcp 10.96.12.7:443: connect: connection refused"
)


def _cause(text: str) -> str:
    return REFUSED.replace("dial tcp 10.96.12.7:443: connect: connection refused", text)


@pytest.mark.parametrize(
    ("denial", "expected"),
    [
        (REFUSED, Silence.NOT_REACHED),
        (_cause("dial tcp 10.96.12.7:443: i/o timeout"), Silence.NOT_REACHED),
        (_cause('no endpoints available for service "spin-platform-webhook"'), Silence.NOT_REACHED),
        # Reached or not, the message does not say: a slow webhook, or one that hung up.
        (_cause("context deadline exceeded"), Silence.NO_ANSWER),
        (_cause("EOF"), Silence.NO_ANSWER),
        (_cause("read tcp 10.0.0.1:51234->10.96.12.7:443: read: connection reset by peer"), Silence.NO_ANSWER),
        (_cause("net/http: request canceled (Client.Timeout exceeded while awaiting headers)"), Silence.NO_ANSWER),
        # A webhook that answered, with a TLS failure or a decision, is an answer.
        (_cause("tls: failed to verify certificate: x509: certificate signed by unknown authority"), None),
        (_cause("expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got /, Kind="), None),
        ('400 BadRequest: admission webhook "validate.pods.platform.spin.example" denied the request: uid', None),
        (DENIED.denial, None),
        # The apiserver itself refusing a connection is not a webhook's doing.
        ("no answer after 5 attempts: connection refused", None),
    ],
)
def test_a_silent_webhook_is_told_from_an_answer(denial: str, expected: Silence | None) -> None:
    assert silence(denial) is expected


class Clock:
    """Time that passes only when slept, or when a request is sent."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _settle(replies: list[admission.Reply], patience: Patience, clock: Clock) -> tuple[admission.Answer, int]:
    sent = []

    def send() -> admission.Reply:
        clock.now += 0.5  # each request takes half a second
        sent.append(1)
        return replies[len(sent) - 1]

    found = admission.settled_answer(send, patience, sleep=clock.sleep)
    return found, len(sent)


def test_a_silent_webhook_is_asked_again_until_it_answers() -> None:
    clock = Clock()
    silent = admission.Answer(False, REFUSED)
    found, sent = _settle([silent, silent, silent, ADMITTED], Patience(90, clock=clock), clock)
    assert found.allowed and sent == 4
    assert found.waited == 4.5  # from the first silence, three waits of a second and three requests later


def test_silence_is_kept_once_the_shared_patience_is_spent() -> None:
    clock = Clock()
    patience = Patience(3, clock=clock)
    silent = admission.Answer(False, REFUSED)
    found, sent = _settle([silent] * 10, patience, clock)
    assert not found.allowed and found.denial == REFUSED
    assert (sent, found.waited, clock.now) == (3, 3.0, 3.5), "never sleeps past the patience"
    # The next probe of the same snapshot is not asked again.
    found, sent = _settle([silent, ADMITTED], patience, clock)
    assert (found.allowed, sent, found.waited) == (False, 1, 0.0)


def test_answers_are_kept_at_once_and_transient_replies_counted() -> None:
    clock = Clock()
    tls = admission.Answer(False, _cause("tls: failed to verify certificate: x509: certificate has expired"))
    assert _settle([tls], Patience(90, clock=clock), clock) == (tls, 1)
    settling = admission.Transient("503 ServiceUnavailable")
    found, sent = _settle([settling, admission.Answer(False, REFUSED), ADMITTED], Patience(90, clock=clock), clock)
    assert found.allowed and sent == 3
    found, sent = _settle([settling] * admission.ATTEMPTS, Patience(90, clock=clock), clock)
    assert sent == admission.ATTEMPTS and found.denial.startswith("no answer after 5 attempts: 503")


def test_admission_silence_after_the_hop_is_named_and_before_it_not_compared() -> None:
    silent = admission.Answer(False, REFUSED, waited=90.2)
    findings = admission.compare({"t/restricted": ADMITTED}, {"t/restricted": silent}, HOP)
    assert [f.severity for f in findings] == [Severity.BREAKING]
    assert "now denied: a webhook could not be reached; asked again for 90.2s" in findings[0].detail
    assert findings[0].evidence["after"]["waited"] == 90.2
    plain = admission.compare({"k": ADMITTED}, {"k": DENIED}, HOP)[0].detail
    assert "could not be reached" not in plain and "now denied (403" in plain

    spent = admission.Answer(False, _cause("context deadline exceeded"))
    still = admission.compare({"t/privileged": DENIED}, {"t/privileged": spent}, HOP)
    assert [f.severity for f in still] == [Severity.INFO]
    assert "still denied, now because a webhook gave no answer" in still[0].detail
    assert "not asked again: the snapshot's patience was spent" in still[0].detail

    # No decision before the hop: what came after is not held against the upgrade.
    before = admission.compare({"t/privileged": silent}, {"t/privileged": ADMITTED}, HOP)
    assert [f.severity for f in before] == [Severity.WARNING] and "not compared" in before[0].detail
    both = admission.compare({"t/privileged": silent}, {"t/privileged": spent}, HOP)
    assert [f.severity for f in both] == [Severity.INFO]


def test_a_silence_finding_asks_for_the_webhook_to_keep_answering() -> None:
    silent = admission.Answer(False, REFUSED, waited=90.2)
    (gone,) = admission.compare({"t/restricted": ADMITTED}, {"t/restricted": silent}, HOP)
    assert gone.evidence["silence"] == {"before": None, "after": "NOT_REACHED"}
    assert "keep the webhook answering" in fix(dataclasses.asdict(gone))
    (flip,) = admission.compare({"t/restricted": ADMITTED}, {"t/restricted": DENIED}, HOP)
    assert "silence" not in flip.evidence and "admission policy" in fix(dataclasses.asdict(flip))


def test_a_probe_never_answered_after_a_silence_is_not_counted_as_a_late_answer() -> None:
    clock = Clock()
    settling = admission.Transient("503 ServiceUnavailable")
    found, _sent = _settle([admission.Answer(False, REFUSED)] + [settling] * 5, Patience(90, clock=clock), clock)
    assert found.denial.startswith("no answer after 5 attempts") and found.waited > 0
    findings = admission.compare({"t/restricted": ADMITTED}, {"t/restricted": found}, HOP)
    assert [(f.severity, f.subject) for f in findings] == [(Severity.BREAKING, "t/restricted")]


def test_answers_that_came_only_after_waiting_are_one_warning_per_side() -> None:
    late = dataclasses.replace(ADMITTED, waited=12.5)
    late_denial = dataclasses.replace(DENIED, waited=3.0)
    before = {"t/restricted": ADMITTED, "t/privileged": DENIED}
    after = {"t/restricted": late, "t/privileged": late_denial}
    findings = admission.compare(before, after, HOP)
    assert [(f.severity, f.subject) for f in findings] == [(Severity.WARNING, "webhooks after the hop")]
    assert "2 probe pod(s)" in findings[0].detail and "up to 12.5s" in findings[0].detail
    assert findings[0].evidence["waited_seconds"] == {"t/privileged": 3.0, "t/restricted": 12.5}


def test_admission_probe_shapes_follow_the_tenant() -> None:
    ids = admission.TenantIds(51001, 51002, "/global/cfs/projects/alpha")
    global_fs = admission.PROBES["global-fs"](ids)
    assert global_fs["spec"]["volumes"][0]["hostPath"]["path"] == "/global/cfs/projects/alpha/work"
    wrong = admission.PROBES["global-fs-wrong-uid"](ids)["spec"]["containers"][0]["securityContext"]
    assert wrong["runAsUser"] == 51002 and wrong["runAsGroup"] == 51002
    assert admission.PROBES["privileged"](ids)["spec"]["containers"][0]["securityContext"]["privileged"] is True


def _timeline(
    pattern: str, step: float = 0.5, *, name: str = "kube-apiserver", target: str = "api"
) -> disruption.Timeline:
    timeline = disruption.Timeline(name, target=target)
    for index, mark in enumerate(pattern):
        timeline.attempts.append(disruption.Attempt(index * step, mark == "+", 0.01, "" if mark == "+" else "down"))
    return timeline


def test_outage_over_budget_is_breaking() -> None:
    timeline = _timeline("+++----------+++")  # 5 s outage
    assert timeline.outages() == [(1.5, 6.5)]
    findings = disruption.compare(timeline, disruption.Budget(2.0, 0.5), HOP)
    assert has_breaking(findings) and "5.0s" in findings[0].detail


def test_outage_within_budget_is_info_and_none_is_nothing() -> None:
    assert [f.severity for f in disruption.compare(_timeline("++--++"), disruption.Budget(5, 0.5), HOP)] == [
        Severity.INFO
    ]
    assert disruption.compare(_timeline("++++"), disruption.Budget(0, 1.0), HOP) == []


def test_each_probe_is_judged_by_the_budget_of_what_it_goes_through() -> None:
    budgets = {"api": disruption.Budget(10.0, 0.1), "webhook": disruption.Budget(1.0, 0.1)}
    through_api = _timeline("++------++", name="tenant-rbac: members keep reading")  # 3 s
    through_webhook = _timeline("++------++", name="admission: pods still mutated", target="webhook")
    findings = disruption.judge([through_api, through_webhook], budgets, HOP)
    assert [(f.subject, f.severity) for f in findings] == [
        ("tenant-rbac: members keep reading", Severity.INFO),
        ("admission: pods still mutated", Severity.BREAKING),
    ]
    assert through_webhook.to_json()["target"] == "webhook"


def test_probe_records_failures_from_a_real_check() -> None:
    calls = {"n": 0}

    def flaky() -> None:
        calls["n"] += 1
        if calls["n"] % 2 == 0:
            raise ConnectionError("refused")

    probe = disruption.Probe("flaky", flaky, interval=0.01).start()
    import time

    time.sleep(0.2)
    timeline = probe.stop()
    assert any(not a.ok for a in timeline.attempts) and any(a.ok for a in timeline.attempts)
    assert 0 < timeline.availability() < 1


def test_most_severe_per_subject_keeps_one_finding_per_subject() -> None:
    a = Finding("object-drift", Severity.WARNING, HOP, "x", "minor")
    b = Finding("object-drift", Severity.BREAKING, HOP, "x", "major")
    c = Finding("removed-api", Severity.INFO, HOP, "y", "info")
    assert most_severe_per_subject([c, a, b]) == [b, c]


_findings = st.lists(
    st.builds(
        Finding,
        kind=st.sampled_from(["removed-api", "object-drift", "rbac-change", "disruption"]),
        severity=st.sampled_from(list(Severity)),
        hop=st.sampled_from(["v1.35.4>v1.36.3", HOP]),
        subject=st.text(alphabet="abc/-", min_size=1, max_size=4),
        detail=st.text(max_size=5),
    ),
    max_size=30,
)


@given(_findings)
def test_most_severe_per_subject_properties(findings: list[Finding]) -> None:
    once = most_severe_per_subject(findings)
    assert most_severe_per_subject(once) == once  # idempotent
    assert len({f.key for f in once}) == len(once)  # one per kind/hop/subject
    assert {f.key for f in once} == {f.key for f in findings}  # nothing lost
    assert has_breaking(once) == has_breaking(findings)  # severity never downgraded
    for kept in once:  # the kept finding is one of the most severe of its subject
        assert kept in findings
        assert all(RANK[kept.severity] <= RANK[f.severity] for f in findings if f.key == kept.key)


RANK = {Severity.BREAKING: 0, Severity.WARNING: 1, Severity.INFO: 2}


@given(_findings, st.randoms(use_true_random=False))
def test_most_severe_per_subject_does_not_depend_on_the_input_order(findings: list[Finding], rnd: Random) -> None:
    """Detectors report in whatever order they walk the cluster: the result must not follow it.

    Which subjects are kept, at which severity, and in which order, is the same for every order
    of the input; only among equally severe duplicates may a different one be kept.
    """
    shuffled = rnd.sample(findings, len(findings))

    def shape(kept: list[Finding]) -> list[tuple[tuple[str, str, str], Severity]]:
        return [(f.key, f.severity) for f in kept]

    assert shape(most_severe_per_subject(shuffled)) == shape(most_severe_per_subject(findings))


def test_deprecated_api_a_tenant_uses_is_breaking_when_the_target_removes_it(tmp_path: Path) -> None:
    audit = tmp_path / "audit.log"
    tenant = {"username": "system:serviceaccount:tenant-a:ci", "groups": ["system:serviceaccounts"]}
    events = [
        {
            "auditID": "1",
            "user": tenant,
            "verb": "list",
            "objectRef": {
                "apiGroup": "flowcontrol.apiserver.k8s.io",
                "apiVersion": "v1beta3",
                "resource": "flowschemas",
            },
            "annotations": {"k8s.io/deprecated": "true", "k8s.io/removed-release": "1.37"},
        },
        {
            "auditID": "2",
            "user": {"username": "system:kube-controller-manager"},
            "verb": "update",
            "objectRef": {"apiVersion": "v1", "resource": "endpoints", "namespace": "default", "name": "kubernetes"},
            "annotations": {"k8s.io/deprecated": "true"},
        },
        {"auditID": "3", "user": tenant, "objectRef": {"apiVersion": "v1", "resource": "pods"}, "annotations": {}},
    ]
    audit.write_text("\n".join(json.dumps(e) for e in events) + "\nnot json\n")
    assert deprecation.from_audit_log(audit) == {
        "flowcontrol.apiserver.k8s.io/v1beta3 flowschemas": "1.37",
        "v1 endpoints": "",
    }
    snapshot = deprecation.attributed({}, audit, Tenancy(namespaces=frozenset({"tenant-a"})))
    severities = {f.subject: f.severity for f in deprecation.compare(snapshot, HOP, KubeVersion(1, 37, 2))}
    assert severities == {
        "flowcontrol.apiserver.k8s.io/v1beta3 flowschemas": Severity.BREAKING,
        "v1 endpoints": Severity.INFO,
    }
    earlier = deprecation.compare(snapshot, HOP, KubeVersion(1, 36, 3))
    assert [f.severity for f in earlier] == [Severity.WARNING, Severity.INFO]


def test_removed_api_names_the_replacement_and_the_manifests() -> None:
    after = {k: v for k, v in DISCOVERY.items() if k != "platform.spin.example/v1alpha1"}
    users = {"platform.spin.example/v1alpha1": ["export/tenant-a/Project-x.yaml"]}
    [finding] = discovery.compare(DISCOVERY, after, HOP, users=users)
    assert finding.severity is Severity.BREAKING
    assert "use platform.spin.example/v1 instead" in finding.detail
    assert finding.evidence["manifests"] == ["export/tenant-a/Project-x.yaml"]


def test_replacement_is_the_version_kubernetes_prefers_not_the_last_by_name() -> None:
    before = {"batch/v2alpha1": ["cronjobs"]}
    after = {"batch/v1beta1": ["cronjobs"], "batch/v1": ["cronjobs", "jobs"], "batch/v1alpha1": ["cronjobs"]}
    assert discovery.replacement("batch/v2alpha1", before["batch/v2alpha1"], after) == "batch/v1"
    assert discovery.replacement("batch/v2alpha1", ["jobs"], {"batch/v1beta1": ["cronjobs"]}) is None


def test_api_versions_sort_by_kubernetes_priority() -> None:
    # apimachinery's own example of the ordering (GA, beta, alpha; higher first; others last by name)
    expected = ["v10", "v2", "v1", "v11beta2", "v10beta3", "v3beta1", "v12alpha1", "v11alpha2", "foo1", "foo10"]
    assert sorted(reversed(expected), key=discovery.version_priority) == expected


OPENAPI = {
    "components": {
        "schemas": {
            "io.example.Allocation": {
                "x-kubernetes-group-version-kind": [
                    {"group": "platform.spin.example", "kind": "Allocation", "version": "v1"}
                ],
                "properties": {
                    "metadata": {"$ref": "#/components/schemas/Meta"},
                    "spec": {"$ref": "#/components/schemas/io.example.Spec"},
                },
            },
            "io.example.Spec": {
                "properties": {
                    "project": {"type": "string"},
                    "nodeHours": {"type": "integer"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                }
            },
            "Meta": {"properties": {"name": {"type": "string"}}},
        }
    }
}


def test_schema_flattening_resolves_refs() -> None:
    fields = schema.kind_schema(OPENAPI, "Allocation", "platform.spin.example", "v1")
    assert fields["spec.nodeHours"] == {"type": "integer", "required": False}
    assert "metadata.name" not in fields and "spec.tags" in fields


def test_schema_changes_removed_retyped_required() -> None:
    before = {
        "platform.spin.example/v1 Allocation": schema.kind_schema(OPENAPI, "Allocation", "platform.spin.example", "v1")
    }
    after_doc = copy.deepcopy(OPENAPI)
    spec = after_doc["components"]["schemas"]["io.example.Spec"]
    del spec["properties"]["tags"]
    spec["properties"]["nodeHours"] = {"type": "string"}
    spec["properties"]["queue"] = {"type": "string"}
    spec["required"] = ["project"]
    after = {
        "platform.spin.example/v1 Allocation": schema.kind_schema(
            after_doc, "Allocation", "platform.spin.example", "v1"
        )
    }
    found = {f.subject.split(" ")[-1]: (f.severity, f.detail) for f in schema.compare(before, after, HOP)}
    assert found["spec.tags"][0] is Severity.BREAKING and "removed" in found["spec.tags"][1]
    assert "changed type integer -> string" in found["spec.nodeHours"][1]
    assert "became required" in found["spec.project"][1]
    assert found["spec.project"][0] is Severity.WARNING  # the tenant objects were not read
    every = {"platform.spin.example/v1 Allocation": [{"metadata": {"name": "a"}, "spec": {"project": "x"}}]}
    judged_every = {f.subject.split(" ")[-1]: f for f in schema.compare(before, after, HOP, objects=every)}
    assert judged_every["spec.project"].severity is Severity.INFO, "every tenant object already sets it"
    assert "every tenant object sets it" in judged_every["spec.project"].detail
    assert found["fields)"][0] is Severity.INFO
    lacking = {
        "platform.spin.example/v1 Allocation": [
            {"metadata": {"name": "old"}, "spec": {"nodeHours": 1}},
            {"metadata": {"name": "new"}, "spec": {"project": "x"}},
        ]
    }
    [required] = [f for f in schema.compare(before, after, HOP, objects=lacking) if f.subject.endswith("spec.project")]
    assert required.severity is Severity.BREAKING and "old" in required.detail and "new" not in required.detail
    judged = {f.subject.split(" ")[-1]: f for f in schema.compare(before, after, HOP, objects=lacking)}
    assert judged["spec.tags"].severity is Severity.INFO, "removed, but no tenant object sets it"
    assert "no tenant object sets it" in judged["spec.tags"].detail
    assert judged["spec.nodeHours"].severity is Severity.BREAKING and "old" in judged["spec.nodeHours"].detail
    tagged = {"platform.spin.example/v1 Allocation": [{"metadata": {"name": "t"}, "spec": {"tags": ["a"]}}]}
    [removed] = [f for f in schema.compare(before, after, HOP, objects=tagged) if f.subject.endswith("spec.tags")]
    assert removed.severity is Severity.BREAKING and removed.evidence["objects_setting_it"] == ["t"]
    assert schema.compare(before, before, HOP) == []


def _owned(uid: str, *managers: str, owner: str = "", labels: dict[str, str] | None = None) -> dict[str, object]:
    meta: dict[str, object] = {"uid": uid, "name": uid, "managedFields": [{"manager": m} for m in managers]}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "controller": True}]
    if labels:
        meta["labels"] = labels
    return {"metadata": meta}


def test_scenario_objects_and_what_they_own_are_not_tenant_objects() -> None:
    objects = [
        _owned("scenario-deploy", "spin-harness/workflows"),
        _owned("scenario-rs", "kube-controller-manager", owner="scenario-deploy"),
        _owned("scenario-pod", "kube-controller-manager", "kubelet", owner="scenario-rs"),
        _owned("webhook", "OpenAPI-Generator", labels={"app.kubernetes.io/managed-by": "spin-harness"}),
        _owned("replayed", "spin-harness"),
        _owned("shared-namespace", "spin-harness", "spin-harness/tenant-rbac"),
        _owned("tenant-deploy", "kubectl-client-side-apply"),
        _owned("tenant-pod", "kube-controller-manager", owner="tenant-deploy"),
    ]
    assert harness_owned(objects) == {"scenario-deploy", "scenario-rs", "scenario-pod", "webhook"}
    kept = [o["metadata"]["uid"] for o in tenant_objects(objects)]  # type: ignore[index]
    assert kept == ["replayed", "shared-namespace", "tenant-deploy", "tenant-pod"]


def _manifest(name: str) -> Manifest:
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "tenant-a"}}
    return Manifest(Path(f"export/tenant-a/{name}.yaml"), body)


def test_dry_run_rejection_the_source_shares_is_a_warning_saying_so_not_a_new_break() -> None:
    old, new, fine = _manifest("old"), _manifest("new"), _manifest("fine")
    invalid = "spec.replicas: Invalid value: -1"
    at_source = [ApplyResult(old, False, invalid), ApplyResult(new, True), ApplyResult(fine, True)]
    at_target = [ApplyResult(old, False, invalid), ApplyResult(new, False, "no"), ApplyResult(fine, True)]
    found = {
        f.subject: f
        for f in dry_run.judge([old, new, fine], at_source, at_target, hop=HOP, source="v1.36.3", target="v1.37.2")
    }
    assert set(found) == {"apps/v1 Deployment tenant-a/old", "apps/v1 Deployment tenant-a/new"}
    already = found["apps/v1 Deployment tenant-a/old"]
    assert already.severity is Severity.WARNING and "already rejected at the source v1.36.3" in already.detail
    assert already.evidence["rejected_at_source"] is True
    assert already.evidence["manifest"] == "export/tenant-a/old.yaml"
    assert already.evidence["object"] == "tenant-a/Deployment/old"
    fresh = found["apps/v1 Deployment tenant-a/new"]
    assert fresh.severity is Severity.BREAKING and fresh.evidence["rejected_at_source"] is False
    only_source = dry_run.judge([old], at_source[:1], None, hop=HOP, source="v1.36.3", target="v1.36.3")
    assert [f.severity for f in only_source] == [Severity.WARNING], "a hop without an upgrade still names it"
