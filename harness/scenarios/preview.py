"""Rendering a whole scenario without a cluster: every step value and template, for every tenant.

Used to catch template mistakes before anything runs (a variable that is undefined only for
the second tenant, or only on the next minor), and to list the manifests a scenario applies,
which the removed-API detector checks against what the next version still serves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.providers import DEFAULT_PROVIDER
from harness.scenarios.context import base_context, tenant_context
from harness.scenarios.load import Scenario, StepPath
from harness.scenarios.model import PHASES, Step
from harness.scenarios.render import bare_expression
from harness.scenarios.tenants import Tenant
from harness.versions import KubeVersion


@dataclass
class Preview:
    """What rendering produced: the manifests of ``apply`` steps, and how many values rendered."""

    manifests: list[dict[str, Any]] = field(default_factory=list)
    documents: int = 0
    values: int = 0


def preview(
    scenario: Scenario,
    *,
    tenants: Sequence[Tenant],
    version: KubeVersion,
    provider: str = DEFAULT_PROVIDER,
    capabilities: frozenset[str] = frozenset(),
    params: Mapping[str, Any] | None = None,
    phases: Sequence[str] = PHASES,
) -> Preview:
    """Render every step of ``phases`` as a run would; ``InputError`` (file, line) on any mistake.

    Steps whose ``when`` is false for a tenant are not rendered for it, as in a run; capability
    gates are ignored, so gated steps are checked too.
    """
    context = base_context(
        tenants=tenants,
        version=version,
        provider=provider,
        capabilities=capabilities,
        params={**scenario.default_params(), **(params or {})},
    )
    out = Preview()
    for phase in phases:
        _steps(scenario, scenario.spec.phase(phase), (phase,), context, tenants, None, out)
    return out


def _steps(
    scenario: Scenario,
    steps: list[Step],
    where: StepPath,
    context: dict[str, Any],
    tenants: Sequence[Tenant],
    bound: Tenant | None,
    out: Preview,
) -> None:
    for index, step in enumerate(steps):
        path = (*where, index)
        for tenant in tenants if (step.per_tenant and bound is None) else [bound]:
            variables = tenant_context(context, tenants, tenant) if tenant is not None else context
            if step.when is not None and not scenario.renderer.expression(
                bare_expression(step.when), variables, scenario.locate, (*path, "when")
            ):
                continue
            _step(scenario, step, path, variables, out)
            nested = step.as_user.steps if step.as_user else step.probe.steps if step.probe else []
            if nested:
                kind = step.step_type
                _steps(scenario, nested, (*path, kind, "steps"), variables, tenants, tenant, out)


def _step(scenario: Scenario, step: Step, where: StepPath, variables: dict[str, Any], out: Preview) -> None:
    kind = step.step_type
    raw = step.action.model_dump(by_alias=True, exclude_defaults=True, exclude={"steps"})
    renderer = scenario.renderer
    rendered = renderer.value(raw, variables, scenario.locate, (*where, kind))
    out.values += 1
    applies_objects = kind == "apply" and not rendered.get("subresource")  # a status is no object of its own
    template = rendered.get("template")
    if template is not None:
        extra = {**variables, "vars": rendered.get("vars", {})}
        documents = renderer.template(template, extra)
        out.documents += len(documents)
        if applies_objects:
            out.manifests.extend(documents)
    elif applies_objects and isinstance(rendered.get("manifest"), dict):
        out.manifests.append(rendered["manifest"])
        out.documents += 1
