"""The whole contract across a real in-place upgrade, all canonical scenarios in one cluster.

As in a matrix cell: every scenario's setup and verify at the older version, their probes
running while the control plane is upgraded, verify again at the newer version (from new
runners that know only the kubeconfig and the provider), teardown in reverse order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.detectors.disruption import Timeline
from harness.providers.local import LocalProvider
from harness.scenarios import ScenarioRunner, Status, load_scenario
from harness.scenarios.services import ServiceSet
from harness.versions import KubeVersion
from tests.scenarios.conftest import CANONICAL, SHIPPED, cluster_name

pytestmark = pytest.mark.e2e


def test_canonical_scenarios_hold_across_an_upgrade(
    isolated_state: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    older, newer = e2e_versions
    provider = LocalProvider()
    scenarios = [load_scenario(SHIPPED / name) for name in CANONICAL]
    cluster = provider.create(cluster_name("up"), older, nodes=2)
    timelines: list[Timeline] = []
    services = ServiceSet()
    try:
        before = [
            ScenarioRunner(s, cluster.kubeconfig, provider.capabilities, provider_name="local", services=services)
            for s in scenarios
        ]
        try:
            for phase in ("setup", "verify"):
                for scenario_runner in before:
                    assert scenario_runner.run_phase(phase).status is Status.PASSED
            assert {r.version for r in before} == {older}
            handles = [r.start_during() for r in before]
            try:
                upgraded = provider.upgrade(cluster, newer)
            finally:
                timelines = [t for handle in handles for t in handle.stop()]
        finally:
            for scenario_runner in before:
                scenario_runner.close()
        assert upgraded.version == newer
        # As in a cell, the harness's services (the webhook server) outlive the upgrade.
        after = [
            ScenarioRunner(s, cluster.kubeconfig, provider.capabilities, provider_name="local", services=services)
            for s in scenarios
        ]
        for scenario_runner in after:
            with scenario_runner:
                assert scenario_runner.version == newer
                assert scenario_runner.run_phase("verify").status is Status.PASSED
        for scenario_runner in reversed(after):
            with scenario_runner:
                assert scenario_runner.run_phase("teardown").status is Status.PASSED
    finally:
        services.stop()
        provider.delete(cluster)

    assert {t.name.split(":")[0] for t in timelines} == set(CANONICAL), "every scenario probes during the hop"
    for timeline in timelines:
        attempts = timeline.attempts
        assert len(attempts) >= 3, timeline.to_json()
        assert attempts[0].ok, f"{timeline.name} failed before the upgrade began: {attempts[0].error}"
        assert attempts[-1].ok, f"{timeline.name} did not recover: {attempts[-1].error}"
        # Failed attempts are the apiserver restarting: refused connections, then 503s (and, on
        # some starts, 403s until RBAC has synced) in one contiguous window, never a flap after
        # recovery. That no client-side retry stretches an attempt over the outage is a property
        # of the probe's client (tests/unit/test_during_steps.py), not a time asserted here.
        assert len(timeline.outages()) <= 1, timeline.to_json()
