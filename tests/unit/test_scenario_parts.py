"""The pieces under the scenario runner: field paths, refusal reasons, redaction, tenants, messages."""

from __future__ import annotations

import base64
import datetime as dt
import re
import time

import pytest

from harness.errors import HarnessError, InputError
from harness.kube.waits import wait_until
from harness.scenarios.denials import classify, not_yet
from harness.scenarios.fields import condition_status, lookup, matches, parse_path
from harness.scenarios.leaf_steps import ApplyStep
from harness.scenarios.redact import REDACTED, Scrubber, redact
from harness.scenarios.render import utc_now
from harness.scenarios.rest import ApiError, KindNotServed
from harness.scenarios.results import PhaseResult, Status, StepFailed, StepMismatch
from harness.scenarios.tenants import default_tenants, make_tenant

# -- field paths --------------------------------------------------------------------------

OBJ = {
    "metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
    "spec": {
        "containers": [{"name": "web", "image": "a:1"}, {"name": "side", "image": "b:2"}],
        "replicas": 2,
    },
    "status": {
        "conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "Progressing", "status": "False"},
        ],
    },
}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("spec.replicas", 2),
        ("spec.containers[1].image", "b:2"),
        ("spec.containers[-1].name", "side"),
        ("spec.containers[name=web].image", "a:1"),
        ("metadata.labels[pod-security.kubernetes.io/enforce]", "restricted"),
        ("status.conditions[type=Progressing].status", "False"),
    ],
)
def test_lookup_follows_keys_indexes_and_selectors(path: str, value: object) -> None:
    assert lookup(OBJ, path) == (True, value)


@pytest.mark.parametrize(
    "path", ["spec.missing", "spec.containers[5]", "spec.containers[name=db].image", "spec.replicas.x"]
)
def test_lookup_reports_missing(path: str) -> None:
    assert lookup(OBJ, path) == (False, None)


@pytest.mark.parametrize("path", ["", "a..b", "a[", "a[]"])
def test_bad_paths_are_input_errors(path: str) -> None:
    with pytest.raises(InputError):
        parse_path(path)


def test_parse_path_segments() -> None:
    assert parse_path("a[0].b[k.x][type=Ready]") == ["a", 0, "b", "k.x", ("type", "Ready")]


def test_matching_rules() -> None:
    assert matches(2, "2") and matches("2", 2) and matches(1.0, "1")
    assert not matches(True, "True") and not matches(1, True)
    assert matches({"a": 1}, {"a": 1, "b": 2}) and not matches({"a": 1, "c": 3}, {"a": 1})
    assert matches(["v1alpha1", "v1"], ["v1alpha1", "v1"]) and not matches(["v1"], ["v1alpha1", "v1"])
    assert condition_status(OBJ, "Ready") == "True" and condition_status(OBJ, "Available") is None


# -- refusal reasons (messages as kube-apiserver v1.36 words them) -------------------------

RBAC = 'configmaps is forbidden: User "alpha-viewer" cannot create resource "configmaps" in API group ""'
ESCALATION = (
    'roles.rbac.authorization.k8s.io "x" is forbidden: user "alpha-owner" (groups=["system:authenticated"]) '
    'is attempting to grant RBAC permissions not currently held:\n{APIGroups:["*"]}'
)
PSA = 'pods "p" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c")'
QUOTA = 'pods "p" is forbidden: exceeded quota: tenant-quota, requested: requests.cpu=6, used: requests.cpu=0'
LIMITS = 'pods "p" is forbidden: maximum cpu usage per Container is 2, but limit is 4'
WEBHOOK = 'admission webhook "deny.spin.example" denied the request: no hostPath'


@pytest.mark.parametrize(
    ("status", "message", "reason"),
    [
        (403, RBAC, "forbidden"),
        (403, ESCALATION, "forbidden"),
        (403, PSA, "admission"),
        (403, LIMITS, "admission"),
        (400, WEBHOOK, "admission"),
        (403, QUOTA, "quota"),
        (403, 'pods "p" is forbidden: failed quota: q: must specify requests.cpu for: c', "quota"),
        (422, 'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value', "invalid"),
        (409, 'configmaps "x" already exists', "other (409 AlreadyExists)"),
    ],
)
def test_classify(status: int, message: str, reason: str) -> None:
    api_reason = {403: "Forbidden", 422: "Invalid", 400: "BadRequest", 409: "AlreadyExists"}[status]
    assert classify(ApiError(status, api_reason, message)) == reason


def test_not_yet_answers_are_retried_and_decisions_are_not() -> None:
    assert not_yet(KindNotServed("platform.spin.example/v1", "Project"))
    no_account = 'pods "x" is forbidden: error looking up service account t/default'
    assert not_yet(ApiError(403, "Forbidden", no_account))
    assert not_yet(ApiError(0, "MaxRetryError", "connection refused"))
    assert not_yet(ApiError(503, "ServiceUnavailable", "x"))
    assert not not_yet(ApiError(403, "Forbidden", RBAC))
    assert not not_yet(ApiError(409, "AlreadyExists", "exists"))
    assert not not_yet(ApiError(422, "Invalid", "bad"))


# -- redaction ------------------------------------------------------------------------------


def test_redact_hides_secret_values_only() -> None:
    secret = {"kind": "Secret", "data": {"token": "c2VjcmV0"}, "stringData": {"p": "pw"}, "type": "Opaque"}
    listing = {"kind": "SecretList", "items": [secret, {"kind": "ConfigMap", "data": {"a": "b"}}]}
    assert redact(secret) == {
        "kind": "Secret",
        "data": {"token": REDACTED},
        "stringData": {"p": REDACTED},
        "type": "Opaque",
    }
    assert redact(listing)["items"][1]["data"] == {"a": "b"}
    assert secret["data"] == {"token": "c2VjcmV0"}, "redaction copies"


def test_scrubber_removes_plain_and_base64_forms() -> None:
    scrubber = Scrubber()
    encoded = base64.b64encode(b"hunter2-password").decode()
    scrubber.learn(
        [
            {"kind": "Secret", "data": {"a": encoded}},
            {"kind": "Secret", "stringData": {"b": "tok-123456"}},
        ]
    )
    scrubbed = scrubber.scrub(f"server said hunter2-password and {encoded} and tok-123456 and MTIzNDU2")
    assert scrubbed == f"server said {REDACTED} and {REDACTED} and {REDACTED} and MTIzNDU2"
    token = base64.b64encode(b"tok-123456").decode()
    assert token not in scrubber.scrub(token)


# -- tenants and messages -------------------------------------------------------------------


def test_default_tenants_follow_the_platform_conventions() -> None:
    alpha, beta = default_tenants()
    assert (alpha.name, alpha.namespace, alpha.uid, alpha.gid) == ("alpha", "tenant-alpha", 51001, 52001)
    assert (beta.uid, beta.gid) == (51002, 52002)
    assert alpha.users == {"owner": "alpha-owner", "member": "alpha-member", "viewer": "alpha-viewer"}
    assert alpha.groups == ("alpha-members",)
    assert alpha.context()["users"]["viewer"] == "alpha-viewer"
    with pytest.raises(InputError):
        make_tenant("Not_A_Label", 0)
    with pytest.raises(InputError):
        default_tenants(["a", "a"])


def test_step_failed_message_names_everything_needed() -> None:
    failure = StepFailed(
        scenario="tenant-rbac",
        phase="verify",
        where=("verify", 2, "as_user", "steps", 1),
        title="viewer cannot create a ConfigMap",
        expected="create ConfigMap tenant-alpha/x is refused (forbidden)",
        observed="the request was allowed: ConfigMap tenant-alpha/x was created (and has been deleted again)",
        tenant="alpha",
        location="scenarios/tenant-rbac/scenario.yaml:71",
    )
    text = str(failure)
    assert text.splitlines()[0] == (
        'scenario tenant-rbac, verify step verify[2].as_user.steps[1] "viewer cannot create a ConfigMap" '
        "failed for tenant alpha"
    )
    assert "  at: scenarios/tenant-rbac/scenario.yaml:71" in text
    assert "  expected: create ConfigMap tenant-alpha/x is refused (forbidden)" in text
    assert "  observed: the request was allowed" in text
    assert failure.index == 2 and isinstance(failure, AssertionError)


def test_phase_result_raises_the_first_failure_with_the_others_counted() -> None:
    def failed(index: int) -> StepFailed:
        return StepFailed(
            scenario="s",
            phase="teardown",
            where=("teardown", index),
            title=f"t{index}",
            expected="e",
            observed="o",
        )

    result = PhaseResult("s", "teardown", Status.FAILED, failures=[failed(0), failed(2)])
    with pytest.raises(StepFailed) as caught:
        result.raise_for_status()
    assert caught.value.result is result
    message = str(caught.value)
    assert "(1 more step(s) failed in this phase:)" in message and 'teardown[2] "t2"' in message


def test_a_mismatch_is_the_tenants_broken_promise_and_ends_a_wait_at_once() -> None:
    assert not issubclass(StepMismatch, HarnessError), "a broken promise is not a harness failure (exit 2)"
    assert issubclass(StepFailed, AssertionError) and not issubclass(StepFailed, HarnessError)
    calls: list[float] = []

    def probe() -> tuple[bool, str]:
        calls.append(time.monotonic())
        raise StepMismatch("the request is refused", "it was allowed")

    with pytest.raises(StepMismatch, match="observed it was allowed"):
        wait_until("a refusal", probe, timeout=5)
    assert len(calls) == 1, "asking again cannot change a decision"


def test_utc_now_writes_times_as_the_api_does_offset_by_the_seconds_given() -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    written = utc_now(-90)
    after = dt.datetime.now(dt.UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", written)
    moment = dt.datetime.fromisoformat(written.replace("Z", "+00:00"))
    assert before - dt.timedelta(seconds=91) <= moment <= after - dt.timedelta(seconds=89)


def test_an_apply_names_the_subresource_it_writes_and_only_status_is_one() -> None:
    step = ApplyStep.model_validate({"template": "cron-due.yaml.j2", "subresource": "status"})
    assert step.describe() == "apply cron-due.yaml.j2 to status"
    with pytest.raises(ValueError, match="subresource"):
        ApplyStep.model_validate({"template": "cron-due.yaml.j2", "subresource": "scale"})
