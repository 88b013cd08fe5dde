"""What a cell needs from a scenario, as protocols: ``harness.scenarios.driver`` implements them.

Kept apart from the cell so the scenario side can be read (and faked in tests) without the
cell's machinery.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from harness.detectors.disruption import Timeline
    from harness.scenarios.results import PhaseResult


class DuringHandle(Protocol):
    def stop(self) -> list[Timeline]: ...

    def result(self) -> PhaseResult:
        """After ``stop``: one step result per ``during`` step (probed, or skipped and why)."""
        ...


class ScenarioDriver(Protocol):
    """What a cell needs from a scenario: run a phase, and probe while a hop runs."""

    name: str

    def run_phase(self, phase: str, kubeconfig: Path, version: str) -> PhaseResult | None:
        """Run ``setup``/``verify``/``teardown``; raise on failure, skip when not applicable.

        The result carries every step's outcome (what ran, what was skipped and why) for the report.
        """
        ...

    def start_during(self, kubeconfig: Path, version: str) -> DuringHandle: ...

    def manifests(self) -> list[dict[str, Any]]:
        """The manifests the scenario applies (for removed-api and dry-run checks)."""
        ...

    def close(self) -> None:
        """Stop what the scenario runs beside the cluster (its services)."""
        ...

    def set_params(self, params: dict[str, Any]) -> None:
        """Parameters the cluster needs (its tenant image, where its ingress answers)."""
        ...
