"""What a ``scenario.yaml`` may say: the shape of a scenario and of each of its steps.

A scenario is a platform promise ("a tenant's viewer cannot write", "a CRD's objects survive a
storage-version switch") written as four lists of steps, in the order of the upstream upgrade
tests: ``setup`` before the first hop, ``verify`` after every hop (and once before the first),
``during`` while a hop runs, ``teardown`` at the end. Schema, every key checked (an unknown key
is an error naming its file and line)::

    name: tenant-rbac                # must equal the directory name
    description: Owner, member and viewer roles in every tenant namespace.
    promise: A tenant's people can do what their role allows in their own namespace, and nothing else.
    requires: []                     # capabilities the whole scenario needs (else: skipped)
    services: []                     # servers the harness runs for it: admission-webhook
    parameters:                      # defaults; a run may override them (``params`` in templates)
      replicas: {default: 2, description: pods behind the web Service}
    setup:
      - name: tenant namespaces      # named in every failure message
        apply: {template: namespaces.yaml.j2}
    verify:
      - name: web is available
        assert:
          kind: Deployment
          name: web
          namespace: "{{ tenant.namespace }}"
          fields: {status.availableReplicas: "{{ params.replicas }}"}
          conditions: {Available: "True"}
          timeout: 60
    during:
      - name: web stays readable
        probe:
          interval: 1
          steps: [{assert: {kind: Deployment, name: web, namespace: "{{ tenant.namespace }}"}}]
    teardown:
      - delete: {template: namespaces.yaml.j2}

Every step also takes ``requires`` (capabilities, e.g. ``real-containers``: skipped with the
reason where the provider lacks one), ``per_tenant`` (default true: run once per tenant with
``tenant`` bound; false: once, with only ``tenants``) and ``when`` (a jinja expression; the
step is skipped for a tenant where it is false). Strings are jinja templates rendered at run
time; a string that is a single ``{{ expression }}`` keeps the expression's type, so
``"{{ params.replicas }}"`` is the number 2, not the string "2".

This module holds the shape only; ``load`` adds the checks that need the scenario directory
(templates and check functions exist, probes only in ``during``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from harness.config.validation import NAME_RE, invalid
from harness.scenarios.leaf_steps import ApplyStep, AssertStep, CheckStep, DeleteStep, ExpectDeniedStep
from harness.scenarios.schema import IDENTIFIER_RE, Capability, StrictModel

__all__ = [
    "PHASES",
    "STEP_TYPES",
    "ApplyStep",
    "AsUserStep",
    "AssertStep",
    "CheckStep",
    "DeleteStep",
    "ExpectDeniedStep",
    "Parameter",
    "ProbeStep",
    "ScenarioSpec",
    "Step",
]

#: The phases, in the order a cell runs them (verify also runs after every hop).
PHASES = ("setup", "verify", "during", "teardown")

#: The step types; each step has exactly one of these keys.
STEP_TYPES = ("apply", "assert", "expect_denied", "as_user", "probe", "check", "delete")


class AsUserStep(StrictModel):
    """Run nested steps as another identity, through impersonation headers.

    The apiserver authorises each request as ``user`` in ``groups`` (plus
    ``system:authenticated``), exactly as if that person had sent it.
    """

    user: str
    #: A list, or one template string rendering to a list (``"{{ tenant.groups }}"``).
    groups: list[str] | str = Field(default_factory=list)
    steps: list[Step]

    def describe(self) -> str:
        return f"as {self.user}"


class ProbeStep(StrictModel):
    """A check repeated every ``interval`` seconds while a hop runs (``during`` only).

    Each attempt runs the nested steps once, without their retries; its time, outcome and
    latency go into the probe's timeline.
    """

    interval: Annotated[float, Field(strict=True, ge=0.05, le=60)] = 1.0
    #: Which outage budget of the matrix judges this probe: ``api`` (the default; any request
    #: through the apiserver), ``webhook`` (a request whose answer comes from a webhook) or
    #: ``ingress`` (tenant traffic through the ingress controller, not the apiserver).
    target: Literal["api", "webhook", "ingress"] = "api"
    steps: list[Step]

    def describe(self) -> str:
        return "probe"


class Step(StrictModel):
    """One step: exactly one action, plus when and for whom it runs."""

    name: str | None = None
    requires: list[Capability] = Field(default_factory=list)
    per_tenant: bool = True
    when: str | None = None
    apply: ApplyStep | None = None
    assert_: AssertStep | None = Field(None, alias="assert")
    expect_denied: ExpectDeniedStep | None = None
    as_user: AsUserStep | None = None
    probe: ProbeStep | None = None
    check: CheckStep | None = None
    delete: DeleteStep | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        actions = [t for t in STEP_TYPES if self.action_of(t) is not None]
        if len(actions) != 1:
            found = " and ".join(actions) or "none"
            raise invalid(
                f"a step does exactly one thing (found: {found})", hint=f"step types: {', '.join(STEP_TYPES)}"
            )
        return self

    def action_of(self, step_type: str) -> Any:
        return getattr(self, "assert_" if step_type == "assert" else step_type)

    @property
    def step_type(self) -> str:
        return next(t for t in STEP_TYPES if self.action_of(t) is not None)

    @property
    def action(
        self,
    ) -> ApplyStep | AssertStep | ExpectDeniedStep | AsUserStep | ProbeStep | CheckStep | DeleteStep:
        action = self.action_of(self.step_type)
        assert action is not None  # guaranteed by _one_action
        return action  # type: ignore[no-any-return]

    @property
    def title(self) -> str:
        """The step's own name, or a description of what it does."""
        return self.name or self.action.describe()


class Parameter(StrictModel):
    """A value templates read as ``params.<name>``; runs may override the default."""

    default: Any
    description: str | None = None


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        raise invalid("must not be empty")
    return text


class ScenarioSpec(StrictModel):
    """The whole ``scenario.yaml``."""

    name: Annotated[str, Field(pattern=NAME_RE.pattern, max_length=63)]
    description: Annotated[str, AfterValidator(_sentence)]
    #: One sentence: the platform promise this scenario checks.
    promise: Annotated[str, AfterValidator(_sentence)]
    requires: list[Capability] = Field(default_factory=list)
    #: Servers the harness runs beside the cluster for this scenario (``harness.scenarios.services``).
    services: list[Literal["admission-webhook"]] = Field(default_factory=list)
    parameters: dict[Annotated[str, Field(pattern=IDENTIFIER_RE.pattern)], Parameter] = Field(default_factory=dict)
    setup: list[Step] = Field(default_factory=list)
    verify: list[Step] = Field(default_factory=list)
    during: list[Step] = Field(default_factory=list)
    teardown: list[Step] = Field(default_factory=list)

    def phase(self, phase: str) -> list[Step]:
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}; phases are {', '.join(PHASES)}")
        steps: list[Step] = getattr(self, phase)
        return steps


AsUserStep.model_rebuild()
ProbeStep.model_rebuild()
