"""A platform policy only the target version finds invalid is a dry-run finding, not a harness error."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from harness.detectors import dry_run
from harness.detectors.base import SnapshotContext
from harness.errors import HarnessError
from harness.findings import Severity
from harness.platform_layer import PolicyTypeCheckError, policy_type_checked
from harness.report.actions import fix

WARNING = "spec.validations[0].expression: undefined field 'hostNet'"


def type_check_error() -> PolicyTypeCheckError:
    with pytest.raises(PolicyTypeCheckError) as raised:
        policy_type_checked("no-host-network", 3, 3, [WARNING])
    return raised.value


def test_a_policy_failing_type_checking_is_a_breaking_finding_naming_it() -> None:
    finding = dry_run.policy_rejected(type_check_error(), "guardrails", "2.0", hop="v1.36.3>v1.37.2", target="v1.37.2")
    assert (finding.kind, finding.severity) == ("dry-run-rejected", Severity.BREAKING)
    assert finding.subject == "ValidatingAdmissionPolicy/no-host-network"
    assert "'no-host-network'" in finding.detail and "guardrails 2.0" in finding.detail and WARNING in finding.detail
    assert finding.evidence["type_check"] == [WARNING]
    assert "policy's expressions" in fix(finding.to_json())


def test_the_scratch_install_reports_the_policy_and_installs_the_other_components(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed: list[str] = []

    def install(kubeconfig: Path, component: str, version: str) -> list[object]:
        installed.append(component)
        if component == "guardrails":
            raise type_check_error()
        return []

    monkeypatch.setattr(dry_run, "install", install)
    ctx = cast(
        SnapshotContext, SimpleNamespace(platform_after={"guardrails": "2.0", "datasets": "1.1"}, target="v1.37.2")
    )
    findings = dry_run.install_platform(ctx, Path("kubeconfig"), hop="v1.36.3>v1.37.2")
    assert installed == ["guardrails", "datasets"]
    assert [f.subject for f in findings] == ["ValidatingAdmissionPolicy/no-host-network"]


def test_other_install_failures_stay_harness_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def install(kubeconfig: Path, component: str, version: str) -> list[object]:
        raise HarnessError(f"platform component {component} {version} did not apply: boom")

    monkeypatch.setattr(dry_run, "install", install)
    ctx = cast(SnapshotContext, SimpleNamespace(platform_after={"guardrails": "2.0"}, target="v1.37.2"))
    with pytest.raises(HarnessError, match="did not apply"):
        dry_run.install_platform(ctx, Path("kubeconfig"), hop="v1.36.3>v1.37.2")
