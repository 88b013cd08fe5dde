"""``api-warning``: the releases Kubernetes' warnings name, the severity per hop, and the findings.

The texts below are the apiserver's own (from ``pkg/api/pod/warnings.go`` and the API
deprecation filter); the e2e tests check that real apiservers send them and that the finding
reaches ``summary.json``.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.detectors.announced import judge, stop_release
from harness.detectors.api_warning import Heard, compare
from harness.findings import Severity
from harness.kube.api_warnings import ApiWarning
from harness.versions import KubeVersion

V135, V136, V137 = KubeVersion(1, 35, 4), KubeVersion(1, 36, 3), KubeVersion(1, 37, 2)
SECCOMP = (
    "spec.template.metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; "
    'use the "seccompProfile" field instead'
)


@pytest.mark.parametrize(
    ("text", "release"),
    [
        ("apps/v1beta1 Deployment is deprecated in v1.9+, unavailable in v1.16+; use apps/v1 Deployment", "v1.16"),
        (SECCOMP, "v1.27"),
        ("spec.volumes[0].photonPersistentDisk: deprecated in v1.11, non-functional in v1.16+", "v1.16"),
        ("spec.volumes[0].gitRepo: deprecated in v1.11, and disabled by default in v1.33+", "v1.33"),
        ("the field will be removed in v1.38.", "v1.38"),
        ("no longer served as of Kubernetes 1.40", "v1.40"),
        ("support will be removed after v1.37", "v1.38"),
        ("v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice", None),
        (
            "metadata.annotations[container.apparmor.security.beta.kubernetes.io/c]: deprecated since v1.30; "
            'use the "appArmorProfile" field instead',
            None,
        ),
        ("spec.foo: this value will be considered invalid in a future release", None),
        (
            'spec.containers[0].resources.limits[memory]: fractional byte value "1.5" is invalid, must be an integer',
            None,
        ),
        ("example.com/v1beta1 Gadget is deprecated; use example.com/v1 Gadget", None),
    ],
)
def test_stop_release_reads_kubernetes_wording(text: str, release: str | None) -> None:
    found = stop_release(text)
    assert (str(found) if found else None) == release


def test_the_earliest_named_stop_wins() -> None:
    assert str(stop_release("disabled by default in v1.39+, removed in v1.41+, non-functional in v1.38")) == "v1.38"


@given(st.integers(20, 45), st.integers(20, 45), st.integers(0, 3))
def test_breaking_exactly_when_the_stop_falls_inside_the_hop(stop: int, source: int, span: int) -> None:
    src, tgt = KubeVersion(1, source, 2), KubeVersion(1, source + span, 0)
    severity, why = judge(KubeVersion(1, stop, -1), src, tgt)
    inside = source < stop <= source + span
    assert (severity is Severity.BREAKING) == inside
    if stop <= source:
        assert "already stopped working" in why


def test_no_release_named_is_a_warning() -> None:
    assert judge(None, V135, V136) == (Severity.WARNING, "it names no release in which this stops working")


def _warning(
    text: str, version: KubeVersion, action: str = "replay", obj: str = "apps/v1 Deployment t/web"
) -> ApiWarning:
    return ApiWarning(text, obj, "/w/tenant/Deployment-web.yaml", 0, version, action, "PATCH /apis/apps/v1/x")


def test_a_warning_the_source_said_too_and_that_already_held_is_a_warning_that_says_so() -> None:
    before = Heard(V135, (_warning(SECCOMP, V135),))
    after = Heard(V136, (_warning(SECCOMP, V136, "dry-run"), _warning(SECCOMP, V136, "re-apply")))
    [finding] = compare(before, after, "v1.35.4>v1.36.3")
    assert (finding.kind, finding.severity) == ("api-warning", Severity.WARNING)
    assert finding.subject == f"apps/v1 Deployment t/web: {SECCOMP}"
    assert "already stopped working in v1.27" in finding.detail and "the source v1.35.4 said it too" in finding.detail
    assert finding.evidence == {
        "object": "apps/v1 Deployment t/web",
        "manifest": "/w/tenant/Deployment-web.yaml",
        "document": 0,
        "server_text": SECCOMP,
        "version": "v1.36.3",
        "source_version": "v1.35.4",
        "said_at_source": True,
        "said_at_target": True,
        "stops_in": "v1.27",
        "request": "PATCH /apis/apps/v1/x",
        "heard": ["dry-run@v1.36.3", "re-apply@v1.36.3", "replay@v1.35.4"],
    }


def test_a_stop_announced_inside_the_hop_is_breaking_even_if_the_source_said_it() -> None:
    text = "example.com/v1beta1 Gadget is deprecated in v1.35+, unavailable in v1.36+; use example.com/v1 Gadget"
    gadget = "example.com/v1beta1 Gadget t/g"
    [finding] = compare(
        Heard(V135, (_warning(text, V135, obj=gadget),)),
        Heard(V136, (_warning(text, V136, "dry-run", obj=gadget),)),
        "v1.35.4>v1.36.3",
    )
    assert finding.severity is Severity.BREAKING
    assert "stops working in v1.36: after the source v1.35.4, at or before this hop's target v1.36.3" in finding.detail
    # one hop later the same text names a release the source already has: a warning
    [later] = compare(Heard(V136, (_warning(text, V136, obj=gadget),)), Heard(V137, ()), "v1.36.3>v1.37.2")
    assert later.severity is Severity.WARNING and later.evidence["said_at_target"] is False


def test_new_at_the_target_is_said_so_and_nothing_heard_is_no_finding() -> None:
    [finding] = compare(Heard(V135, ()), Heard(V136, (_warning("new thing", V136),)), "v1.35.4>v1.36.3")
    assert finding.evidence["said_at_source"] is False and "new at the target v1.36.3" in finding.detail
    assert compare(Heard(V135, ()), Heard(V136, ()), "v1.35.4>v1.36.3") == []


def test_one_finding_per_object_and_text() -> None:
    warnings = (
        _warning("a", V136),
        _warning("a", V136, "re-apply"),
        _warning("b", V136),
        _warning("a", V136, obj="v1 Pod t/p"),
    )
    findings = compare(Heard(V135, ()), Heard(V136, warnings), "v1.35.4>v1.36.3")
    assert sorted(f.subject for f in findings) == [
        "apps/v1 Deployment t/web: a",
        "apps/v1 Deployment t/web: b",
        "v1 Pod t/p: a",
    ]


def test_warnings_only_scenario_objects_drew_are_info_unless_they_announce_a_stop_in_the_hop() -> None:
    scenario = _warning(SECCOMP, V135, "scenario quotas setup", obj="v1 Pod tenant-alpha/p")
    [finding] = compare(Heard(V135, (scenario,)), Heard(V136, ()), "v1.35.4>v1.36.3")
    assert finding.severity is Severity.INFO
    assert "drawn only by the harness's own scenario objects" in finding.detail
    # the same text drawn by a tenant manifest too is a tenant warning
    tenant = _warning(SECCOMP, V135, "replay", obj="v1 Pod tenant-alpha/p")
    [shared] = compare(Heard(V135, (scenario, tenant)), Heard(V136, ()), "v1.35.4>v1.36.3")
    assert shared.severity is Severity.WARNING
    # a stop inside the hop stays breaking: the platform's canonical workload would stop too
    text = "example.com/v1beta1 Gadget is deprecated in v1.35+, unavailable in v1.36+; use example.com/v1 Gadget"
    stop = _warning(text, V135, "scenario platform-crd setup", obj="example.com/v1beta1 Gadget t/g")
    [breaking] = compare(Heard(V135, (stop,)), Heard(V136, ()), "v1.35.4>v1.36.3")
    assert breaking.severity is Severity.BREAKING
