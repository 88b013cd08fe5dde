"""Which data-plane steps a cell of a run really ran, read back from its ``summary.json``.

A scenario step that ``requires`` a capability (``real-containers``, ``ingress-data-path``)
checks the data plane: the in-cluster webhook's pods, a file read through a hostPath mount,
HTTPS through the ingress controller, a Job's output. A provider without the capability reports
the step as skipped and the phase still passes, so a green run says nothing about them unless
someone looks. The kind smoke test looks: every such step of every scenario must have a result
in every item of its phase, and every result must be a pass (a per-tenant ``when:`` choice is
the one skip allowed, and then another tenant must have run it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.config.yamlfile import format_field
from harness.scenarios.load import Scenario, walk_steps
from harness.scenarios.model import PHASES


@dataclass(frozen=True)
class DataPlaneStep:
    """One step of a scenario that only a provider with a real data plane runs."""

    scenario: str
    phase: str
    #: As step results spell it: ``verify[12]``, ``verify[3].as_user.steps[1]``.
    path: str
    title: str
    requires: tuple[str, ...]

    def __str__(self) -> str:
        return f'{self.scenario} {self.path} "{self.title}" (needs {", ".join(self.requires)})'


def data_plane_steps(scenarios: Iterable[Scenario]) -> list[DataPlaneStep]:
    """Every step needing a capability, its own or its enclosing step's (``as_user``, ``probe``).

    Steps nested in a ``during`` probe are run by the probe and reported as it: only the
    probes themselves are listed for ``during``.
    """
    found: list[DataPlaneStep] = []
    for scenario in scenarios:
        for phase in PHASES:
            needs: dict[tuple[str | int, ...], tuple[str, ...]] = {}
            for where, step in walk_steps(scenario.spec.phase(phase), (phase,)):
                inherited = needs.get(where[:-3], ()) if len(where) > 2 else ()
                requires = tuple(dict.fromkeys([*scenario.spec.requires, *inherited, *step.requires]))
                needs[where] = requires
                if requires and (phase != "during" or len(where) == 2):
                    found.append(DataPlaneStep(scenario.name, phase, format_field(where), step.title, requires))
    return found


def _phase_items(cell: dict[str, Any], scenario: str, phase: str) -> list[dict[str, Any]]:
    return [i for i in cell["items"] if i["scenario"] == scenario and i["phase"].split("@", 1)[0] == phase]


def steps_not_run(cell: dict[str, Any], steps: Iterable[DataPlaneStep]) -> list[str]:
    """One line per data-plane step the cell (a ``summary.json`` cell) did not run and pass."""
    problems: list[str] = []
    for step in steps:
        items = _phase_items(cell, step.scenario, step.phase)
        if not items:
            problems.append(f"{step}: the cell has no {step.scenario} {step.phase} item")
        for item in items:
            where = f"{step} at {item['phase']}"
            if item["outcome"] != "passed":
                problems.append(f"{where}: the item {item['outcome']}: {item.get('message', '')[:200]}")
                continue
            results = [r for r in item.get("steps") or [] if r["path"] == step.path]
            if not results:
                problems.append(f"{where}: no result (the step did not run)")
                continue
            for result in results:
                allowed = result["status"] == "skipped" and result["message"].startswith("when:")
                if result["status"] != "passed" and not allowed:
                    who = f" [{result['tenant']}]" if result.get("tenant") else ""
                    problems.append(f"{where}{who}: {result['status']}: {result['message']}")
            if not any(r["status"] == "passed" for r in results):
                problems.append(f"{where}: no tenant ran it")
    return problems
