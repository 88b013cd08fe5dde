"""Scenarios: platform promises written as YAML steps and templates, run before, during and
after upgrades.

``load_scenario``/``discover`` read and check scenario directories, ``ScenarioRunner`` runs
their phases against any cluster given its kubeconfig, ``preview`` renders them without one.
The format is described in ``harness.scenarios.model``.
"""

from __future__ import annotations

from harness.scenarios.context import CheckContext
from harness.scenarios.engine import DuringHandle, ScenarioRunner
from harness.scenarios.load import Scenario, discover, load_scenario
from harness.scenarios.preview import Preview, preview
from harness.scenarios.results import PhaseResult, Status, StepFailed, StepResult
from harness.scenarios.tenants import Tenant, default_tenants, make_tenant

__all__ = [
    "CheckContext",
    "DuringHandle",
    "PhaseResult",
    "Preview",
    "Scenario",
    "ScenarioRunner",
    "Status",
    "StepFailed",
    "StepResult",
    "Tenant",
    "default_tenants",
    "discover",
    "load_scenario",
    "make_tenant",
    "preview",
]
