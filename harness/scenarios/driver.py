"""Scenarios as a matrix cell sees them (``harness.run.cell.ScenarioDriver``).

A cell calls ``run_phase(phase, kubeconfig, version)`` per pytest item and
``start_during(kubeconfig, version)`` around each hop. Versions arrive as the item ids spell
them (``v1.37.2`` or ``v1.37.2+platform-crd@v2``); the Kubernetes part is what templates see.
A phase whose every step is skipped becomes a pytest skip with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from harness.detectors.disruption import Timeline
from harness.errors import InputError
from harness.scenarios.context import leading_version
from harness.scenarios.engine import DuringHandle, ScenarioRunner
from harness.scenarios.load import Scenario, load_scenario
from harness.scenarios.preview import preview
from harness.scenarios.results import PhaseResult, Status
from harness.scenarios.services import ServiceSet
from harness.scenarios.tenants import default_tenants
from harness.versions import KubeVersion


def kubernetes_version(text: str) -> KubeVersion:
    """``v1.37.2+platform-crd@v2`` -> v1.37.2."""
    version = leading_version(text)
    if version is None:
        raise InputError(f"version {text!r} does not start with a Kubernetes version")
    return version


class _RunnerHandle:
    """A ``DuringHandle`` that also closes its runner's clients when stopped."""

    def __init__(self, runner: ScenarioRunner, handle: DuringHandle) -> None:
        self.runner = runner
        self.handle = handle

    def stop(self) -> list[Timeline]:
        try:
            return self.handle.stop()
        finally:
            self.runner.close()

    def result(self) -> PhaseResult:
        """Which ``during`` steps probed and which were skipped (stops the probes first)."""
        self.stop()
        return self.handle.result()


class ScenarioDriver:
    """One scenario in one cell: same provider, capabilities and tenants for every phase."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        provider: str,
        capabilities: frozenset[str],
        services: ServiceSet | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.scenario = scenario
        #: Parameter values for this cell (the provider's defaults), only those the scenario declares.
        self.params: dict[str, Any] = {}
        self.set_params(params or {})
        self.name = scenario.name
        self.provider = provider
        self.capabilities = capabilities
        #: Shared by the cell's scenarios, kept running across hops, stopped by ``close``.
        self.services = services if services is not None else ServiceSet()
        self.tenants = default_tenants()
        #: The version the scenario was first run at: what its manifests were applied to.
        self.first_version: KubeVersion | None = None

    def set_params(self, params: dict[str, Any]) -> None:
        """Take the values of ``params`` this scenario declares (others are for other scenarios)."""
        declared = self.scenario.default_params()
        self.params.update({k: v for k, v in params.items() if k in declared})

    def _runner(self, kubeconfig: Path, version: str) -> ScenarioRunner:
        parsed = kubernetes_version(version)
        if self.first_version is None:
            self.first_version = parsed
        return ScenarioRunner(
            self.scenario,
            kubeconfig,
            capabilities=self.capabilities,
            tenants=self.tenants,
            version=parsed,
            provider_name=self.provider,
            services=self.services,
            params=self.params,
        )

    def close(self) -> None:
        """Stop the services this scenario (and the others of its cell) used."""
        self.services.stop()

    def run_phase(self, phase: str, kubeconfig: Path, version: str) -> PhaseResult:
        with self._runner(kubeconfig, version) as runner:
            result = runner.run_phase(phase)
        if result.status is Status.SKIPPED:
            pytest.skip(f"{self.name} {phase}: {result.reason}")
        return result

    def start_during(self, kubeconfig: Path, version: str) -> _RunnerHandle:
        runner = self._runner(kubeconfig, version)
        try:
            return _RunnerHandle(runner, runner.start_during())
        except BaseException:
            runner.close()
            raise

    def manifests(self, version: KubeVersion | None = None) -> list[dict[str, Any]]:
        """The manifests of ``setup`` and ``verify``, rendered as this cell applies them.

        Rendered for ``version`` when given, else for the version the scenario first ran at
        (what its manifests were applied to). A scenario that has not run and is given no
        version has applied nothing, so the answer is none: templates may branch on the
        version, and a version made up here would list APIs no cluster was ever sent.
        """
        at = version or self.first_version
        if at is None:
            return []
        return preview(
            self.scenario,
            tenants=self.tenants,
            version=at,
            provider=self.provider,
            capabilities=self.capabilities,
            params=self.params,
            phases=("setup", "verify"),
        ).manifests


def drivers_for(
    paths: Iterable[Path],
    *,
    provider: str,
    capabilities: frozenset[str],
    params: dict[str, Any] | None = None,
    service_host: str | Callable[[], str] = "127.0.0.1",
) -> list[ScenarioDriver]:
    """A driver per scenario directory, all sharing one set of services; every scenario is
    loaded (and checked) up front."""
    services = ServiceSet(service_host)
    return [
        ScenarioDriver(load_scenario(p), provider=provider, capabilities=capabilities, services=services, params=params)
        for p in paths
    ]
