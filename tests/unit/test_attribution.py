"""Attribution of API requests to tenants, on an audit-log excerpt captured from a real apiserver.

``data/audit/v1.35.4-endpoints.log`` holds seven events a local v1.35.4 cluster wrote with the
harness's audit policy, in a tenant namespace ``tenant-climate``:

1. the endpoint controller creating ``endpoints/web`` for the tenant's Service (control plane);
2. the replay applying the tenant manifest ``Endpoints-archive-db.yaml`` (``fieldManager=spin-harness``);
3. the harness impersonating the tenant's person ``climate-owner`` (a scenario step);
4. the tenant's service account ``pipeline`` reading ``endpoints/archive-db`` with its own token;
5. the harness listing ``kube-system`` endpoints (a detector);
6. the replay applying ``Service-archive-db.yaml`` (not deprecated);
7. the controller manager's endpoints watch starting (not annotated deprecated).
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from harness.detectors import deprecation, discovery
from harness.detectors.attribution import (
    Actor,
    ApiRequest,
    ManifestRef,
    Tenancy,
    attribute,
    parse_event,
    read_audit_log,
    requests_to,
)
from harness.findings import Severity
from harness.versions import KubeVersion

EXCERPT = Path(__file__).parent / "data" / "audit" / "v1.35.4-endpoints.log"
HOP = "v1.35.4>v1.36.3"
NS = "tenant-climate"
ARCHIVE = ManifestRef(
    "v1", "Endpoints", "archive-db", NS, "workloads/tenant-climate/Endpoints-archive-db.yaml", 0, "endpoints"
)
TENANCY = Tenancy(
    namespaces=frozenset({NS}),
    subjects=frozenset({"User:climate-owner"}),
    harness_users=frozenset({"spin-harness-admin"}),
    manifests=(ARCHIVE,),
)


def test_the_excerpt_reads_as_seven_resource_requests_five_of_them_deprecated() -> None:
    requests = list(read_audit_log(EXCERPT))
    assert len(requests) == 7
    deprecated = [r for r in requests if r.deprecated]
    assert [(r.verb, r.user) for r in deprecated] == [
        ("create", "system:serviceaccount:kube-system:endpoint-controller"),
        ("patch", "spin-harness-admin"),
        ("list", "climate-owner"),
        ("get", f"system:serviceaccount:{NS}:pipeline"),
        ("list", "spin-harness-admin"),
    ]
    assert {r.api for r in deprecated} == {"v1 endpoints"} and all(r.removed_release == "" for r in deprecated)
    assert deprecated[2].authenticated == "spin-harness-admin", "an impersonated request keeps who sent it"
    assert deprecated[1].field_manager == "spin-harness"
    only = list(read_audit_log(EXCERPT, containing=('"k8s.io/deprecated"',)))
    assert only == deprecated


def test_each_request_of_the_excerpt_has_the_right_actor() -> None:
    actors = [TENANCY.actor(r) for r in read_audit_log(EXCERPT)]
    assert actors == [
        Actor.CONTROL_PLANE,  # the endpoint controller, although the object is in a tenant namespace
        Actor.REPLAY,
        Actor.HARNESS,  # a scenario acting as the tenant's person is the harness
        Actor.TENANT,
        Actor.HARNESS,
        Actor.REPLAY,
        Actor.CONTROL_PLANE,
    ]


def test_without_knowing_its_own_identity_the_harness_impersonating_a_tenant_counts_as_the_tenant() -> None:
    blind = Tenancy(namespaces=TENANCY.namespaces, subjects=TENANCY.subjects)
    impersonated = [r for r in read_audit_log(EXCERPT) if r.user == "climate-owner"]
    assert [blind.actor(r) for r in impersonated] == [Actor.TENANT]
    assert [TENANCY.actor(r) for r in impersonated] == [Actor.HARNESS]


def test_deprecated_api_names_the_tenant_objects_and_the_manifest_and_not_the_control_plane() -> None:
    snapshot = deprecation.attributed({}, EXCERPT, TENANCY)
    [finding] = deprecation.compare(snapshot, HOP, KubeVersion(1, 36, 3))
    assert (finding.subject, finding.severity) == ("v1 endpoints", Severity.WARNING)
    assert finding.evidence["objects"] == [f"{NS}/Endpoints/archive-db"], "the service account read the replayed one"
    assert finding.evidence["manifests"] == [ARCHIVE.source]
    users = {(r["actor"], r["user"]) for r in finding.evidence["tenant_requests"]}
    assert users == {("replay", "spin-harness-admin"), ("tenant", f"system:serviceaccount:{NS}:pipeline")}
    assert "control-plane:system:serviceaccount:kube-system:endpoint-controller" in finding.evidence["other_requesters"]
    assert "harness:climate-owner" in finding.evidence["other_requesters"]
    assert f"{NS}/Endpoints/archive-db" in finding.detail


def test_control_plane_and_harness_requests_alone_are_information() -> None:
    nobody = Tenancy(harness_users=frozenset({"spin-harness-admin"}))
    lines = [line for line in EXCERPT.read_text().splitlines() if "fieldManager=spin-harness" not in line]
    excerpt = [json.loads(line) for line in lines]
    requests = [r for r in (parse_event(e) for e in excerpt) if r is not None and r.deprecated]
    uses = attribute(requests, nobody)
    snapshot = deprecation.DeprecationSnapshot({"v1 endpoints": ""}, uses)
    [finding] = deprecation.compare(snapshot, HOP, KubeVersion(1, 36, 3))
    assert finding.severity is Severity.INFO
    assert "control-plane (system:serviceaccount:kube-system:endpoint-controller)" in finding.detail
    assert "harness (climate-owner, spin-harness-admin)" in finding.detail
    assert finding.evidence["objects"] == [] and finding.evidence["manifests"] == []


def test_without_an_audit_log_a_tenant_manifest_is_still_matched_and_others_are_information(tmp_path: Path) -> None:
    usage = {"v1 endpoints": "", "flowcontrol.apiserver.k8s.io/v1beta3 flowschemas": "1.32"}
    snapshot = deprecation.attributed(usage, tmp_path / "absent.log", TENANCY)
    found = {f.subject: f for f in deprecation.compare(snapshot, HOP, KubeVersion(1, 36, 3))}
    assert found["v1 endpoints"].severity is Severity.WARNING
    assert found["v1 endpoints"].evidence["manifests"] == [ARCHIVE.source]
    flowschemas = found["flowcontrol.apiserver.k8s.io/v1beta3 flowschemas"]
    assert flowschemas.severity is Severity.INFO and "no audit log says by whom" in flowschemas.detail


def test_removed_api_counts_requests_of_tenants_only(tmp_path: Path) -> None:
    before = {"v1": ["endpoints", "services"]}
    after = {"v1": ["services"]}
    attributed = requests_to(["v1 endpoints"], EXCERPT, TENANCY)
    [finding] = discovery.compare(before, after, HOP, requests=attributed)
    assert finding.severity is Severity.BREAKING
    assert f"{NS}/Endpoints/archive-db" in finding.detail
    no_namespaces = requests_to(["v1 endpoints"], EXCERPT, Tenancy(harness_users=TENANCY.harness_users))
    [replayed] = discovery.compare(before, after, HOP, requests=no_namespaces)
    assert {r["actor"] for r in replayed.evidence["tenant_requests"]} == {"replay"}
    assert f"other:system:serviceaccount:{NS}:pipeline" in replayed.evidence["other_requesters"]
    without_replay = tmp_path / "audit.log"
    lines = [line for line in EXCERPT.read_text().splitlines() if "fieldManager=spin-harness" not in line]
    without_replay.write_text("\n".join(lines) + "\n")
    untouched = requests_to(["v1 endpoints"], without_replay, Tenancy(harness_users=TENANCY.harness_users))
    [info] = discovery.compare(before, after, HOP, requests=untouched)
    assert info.severity is Severity.INFO and info.evidence["objects"] == []


def test_a_manifest_is_matched_by_group_version_resource_namespace_and_name() -> None:
    request = ApiRequest("u", (), "u", "patch", "", "v1", "endpoints", NS, "archive-db")
    assert TENANCY.manifest_for(request) == TENANCY.manifests[0]
    for other in (
        ApiRequest("u", (), "u", "patch", "", "v1", "endpoints", "tenant-other", "archive-db"),
        ApiRequest("u", (), "u", "patch", "", "v1", "services", NS, "archive-db"),
        ApiRequest("u", (), "u", "patch", "discovery.k8s.io", "v1", "endpoints", NS, "archive-db"),
    ):
        assert TENANCY.manifest_for(other) is None


@given(st.dictionaries(st.sampled_from(["user", "objectRef", "verb", "annotations", "impersonatedUser"]), st.none()))
def test_malformed_events_are_skipped_not_raised(event: dict[str, None]) -> None:
    assert parse_event(event) is None


def test_system_groups_bound_in_a_tenant_namespace_do_not_make_everyone_a_tenant() -> None:
    everyone = Tenancy(namespaces=frozenset({NS}), subjects=frozenset({"Group:system:authenticated"}))
    request = ApiRequest("admin", ("system:authenticated",), "admin", "list", "", "v1", "endpoints")
    assert everyone.actor(request) is Actor.OTHER
