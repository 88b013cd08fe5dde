"""The matrix adapter: versions as item ids spell them, skipped phases, manifests for detectors."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InputError
from harness.scenarios import ScenarioRunner, Status, load_scenario
from harness.scenarios.driver import ScenarioDriver, drivers_for, kubernetes_version
from harness.versions import KubeVersion

ROOT = Path(__file__).resolve().parents[2]


def test_versions_from_item_ids() -> None:
    assert kubernetes_version("v1.37.2") == KubeVersion(1, 37, 2)
    assert kubernetes_version("v1.37.2+platform-crd@v2") == KubeVersion(1, 37, 2)
    with pytest.raises(InputError):
        kubernetes_version("latest")


def test_drivers_load_every_scenario_and_list_their_manifests() -> None:
    paths = [ROOT / "scenarios" / name for name in ("tenant-rbac", "platform-crd")]
    drivers = drivers_for(paths, provider="local", capabilities=frozenset({"audit-log"}))
    assert [d.name for d in drivers] == ["tenant-rbac", "platform-crd"]
    api_versions = {m["apiVersion"] for d in drivers for m in d.manifests(KubeVersion(1, 36, 3))}
    assert {
        "rbac.authorization.k8s.io/v1",
        "platform.spin.example/v1alpha1",
        "platform.spin.example/v1",
    } <= api_versions


def test_manifests_are_rendered_for_a_real_version_never_a_made_up_one(tmp_path: Path) -> None:
    directory = tmp_path / "versioned"
    directory.mkdir()
    (directory / "scenario.yaml").write_text(
        "name: versioned\ndescription: d\npromise: p.\nrequires: [real-containers]\n"
        "setup:\n  - per_tenant: false\n    apply:\n      manifest:\n        apiVersion: v1\n        kind: ConfigMap\n"
        '        metadata: {name: "at-{{ version.major }}-{{ version.minor }}-{{ version.patch }}"}\n'
    )
    unreachable = tmp_path / "no-such-kubeconfig"  # never read: the scenario is skipped

    def names(driver: ScenarioDriver, version: KubeVersion | None = None) -> list[str]:
        return [m["metadata"]["name"] for m in driver.manifests(version)]

    (driver,) = drivers_for([directory], provider="local", capabilities=frozenset())
    assert names(driver) == [], "a scenario that has not run applied nothing"
    assert names(driver, KubeVersion(1, 35, 4)) == ["at-1-35-4"]
    with pytest.raises(pytest.skip.Exception):
        driver.run_phase("setup", unreachable, "v1.36.3+platform-crd@v2")
    assert names(driver) == ["at-1-36-3"], "rendered for the version the scenario first ran at"
    with pytest.raises(pytest.skip.Exception):
        driver.run_phase("verify", unreachable, "v1.37.1")
    assert names(driver) == ["at-1-36-3"]


def test_a_scenario_needing_a_missing_capability_is_skipped_with_the_reason(tmp_path: Path) -> None:
    directory = tmp_path / "needs-containers"
    directory.mkdir()
    (directory / "scenario.yaml").write_text(
        "name: needs-containers\ndescription: d\npromise: p.\nrequires: [real-containers]\n"
        "verify:\n  - assert: {kind: Namespace, name: default}\n"
    )
    unreachable = tmp_path / "no-such-kubeconfig"  # never read: nothing runs
    scenario = load_scenario(directory)
    runner = ScenarioRunner(
        scenario, unreachable, capabilities=(), version=KubeVersion(1, 36, 3), provider_name="local"
    )
    result = runner.run_phase("verify")
    assert result.status is Status.SKIPPED
    assert result.reason == "the scenario needs real-containers, which provider local does not have"
    (driver,) = drivers_for([directory], provider="local", capabilities=frozenset())
    reason = "needs real-containers, which provider local does not have"
    with pytest.raises(pytest.skip.Exception, match=reason):
        driver.run_phase("verify", unreachable, "v1.36.3")
    handle = driver.start_during(unreachable, "v1.36.3")
    assert handle.stop() == [] and handle.handle.skipped


def test_unknown_parameters_and_phases_are_input_errors(tmp_path: Path) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "workflows")
    with pytest.raises(InputError, match="unknown parameter 'replica'"):
        ScenarioRunner(scenario, tmp_path / "kubeconfig", params={"replica": 3})
    version = KubeVersion(1, 36, 3)
    runner = ScenarioRunner(scenario, tmp_path / "kubeconfig", params={"replicas": 3}, version=version)
    assert runner.params["replicas"] == 3
    with pytest.raises(InputError, match="unknown phase 'upgrade'"):
        runner.run_phase("upgrade")
