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

import dataclasses
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from harness.providers.base import ProviderCapabilities

#: Capability names as steps spell them (``real-containers``), from the provider contract.
KNOWN_CAPABILITIES: frozenset[str] = frozenset(
    f.name.replace("_", "-") for f in dataclasses.fields(ProviderCapabilities)
)

#: The phases, in the order a cell runs them (verify also runs after every hop).
PHASES = ("setup", "verify", "during", "teardown")

#: The step types; each step has exactly one of these keys.
STEP_TYPES = ("apply", "assert", "expect_denied", "as_user", "probe", "check", "delete")

NAME_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TEMPLATE_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+\.j2")

#: Reasons a request can be refused, as ``expect_denied`` names them.
DenialReason = Literal["forbidden", "admission", "quota", "invalid"]

#: Request verbs ``expect_denied`` can make.
Verb = Literal["create", "apply", "update", "patch", "delete", "get", "list"]


def invalid(message: str, hint: str | None = None) -> PydanticCustomError:
    """A validation error whose text is exactly ``message`` (``parse_model`` adds the place)."""
    context: dict[str, Any] = {"message": message}
    if hint:
        context["hint"] = hint
    return PydanticCustomError("scenario", "{message}", context)


def _capability(name: str) -> str:
    if name not in KNOWN_CAPABILITIES:
        raise invalid(f"unknown capability {name!r}", hint=f"capabilities are: {', '.join(sorted(KNOWN_CAPABILITIES))}")
    return name


def _template_name(name: str) -> str:
    if not TEMPLATE_NAME_RE.fullmatch(name):
        raise invalid(
            f"template {name!r} is not a file name ending in .j2",
            hint="templates live next to scenario.yaml, e.g. roles.yaml.j2",
        )
    return name


def _condition_status(value: object) -> object:
    """``Available: True`` in YAML is a boolean; conditions compare the API's "True" string."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return value


Capability = Annotated[str, AfterValidator(_capability)]
TemplateName = Annotated[str, AfterValidator(_template_name)]
#: Seconds to keep retrying; a number, never a string like "60s" (YAML would not say which unit).
Seconds = Annotated[float, Field(strict=True, ge=0, le=3600)]
ConditionStatus = Annotated[str, BeforeValidator(_condition_status)]
Manifest = dict[str, Any]


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo must not silently turn a check into a no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _exactly_one(model: BaseModel, fields: tuple[str, ...], what: str) -> None:
    given = [f for f in fields if getattr(model, f) is not None]
    if len(given) != 1:
        found = ", ".join(given) or "none"
        raise invalid(f"{what} needs exactly one of {', '.join(fields)} (found: {found})")


class ObjectRef(StrictModel):
    """An object (or, with ``label_selector``, a set of objects) by kind and name.

    ``label_selector: ""`` selects every object of the kind in the namespace.

    ``apiVersion`` may be left out when the kind is unambiguous (served by the core group or by
    a single group); the preferred version is used.
    """

    api_version: str | None = Field(None, alias="apiVersion")
    kind: str
    name: str | None = None
    namespace: str | None = None
    label_selector: str | None = None

    def describe(self) -> str:
        kind = f"{self.kind} ({self.api_version})" if self.api_version else self.kind
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{kind} {where}{self.name or f'[{self.label_selector}]'}"


class ApplyStep(StrictModel):
    """Server-side apply a template's documents (in order) or one inline manifest."""

    template: TemplateName | None = None
    manifest: Manifest | None = None
    #: Extra template variables, available as ``vars`` (e.g. which CRD version stores).
    vars: dict[str, Any] = Field(default_factory=dict)
    #: Field manager of the apply; default ``spin-harness/<scenario>``.
    field_manager: str | None = None
    #: Ask with ``dryRun=All``: admission runs in full (the request must be admitted), nothing is stored.
    dry_run: bool = False
    #: Seconds to retry answers that mean "not yet" (a CRD not served yet, a namespace's
    #: default ServiceAccount not created yet); refusals fail at once.
    timeout: Seconds = 30

    @model_validator(mode="after")
    def _one_source(self) -> ApplyStep:
        _exactly_one(self, ("template", "manifest"), "apply")
        return self

    def describe(self) -> str:
        return f"apply {self.template or _manifest_label(self.manifest)}"


class AssertStep(ObjectRef):
    """An object's fields and conditions reach the expected values within ``timeout``.

    ``fields`` maps a path (``status.availableReplicas``, ``spec.containers[0].image``,
    ``metadata.labels[app.kubernetes.io/name]``) to the expected value: scalars compare equal
    (a number equals its string form, since the API writes quantities as strings), mappings
    must be contained in the observed mapping. ``conditions`` maps a condition type to its
    status. With ``label_selector`` instead of ``name``, at least ``min_count`` objects must
    each satisfy everything; ``present: false`` asserts the object is gone.
    """

    fields: dict[str, Any] = Field(default_factory=dict)
    conditions: dict[str, ConditionStatus] = Field(default_factory=dict)
    #: Paths that must be present (any value) / absent.
    exists: list[str] = Field(default_factory=list)
    absent: list[str] = Field(default_factory=list)
    present: bool = True
    #: A number, or a template string rendering to one (``"{{ params.replicas }}"``).
    min_count: Annotated[int, Field(strict=True, ge=1)] | str = 1
    timeout: Seconds = 60

    @model_validator(mode="after")
    def _target(self) -> AssertStep:
        if (self.name is None) == (self.label_selector is None):
            raise invalid("assert needs exactly one of name, label_selector")
        if not self.present and (self.fields or self.conditions or self.exists or self.absent):
            raise invalid("present: false asserts the object is gone; it cannot also check its fields")
        return self

    def describe(self) -> str:
        return f"assert {self.describe_target()}"

    def describe_target(self) -> str:
        return ObjectRef.describe(self)


class ExpectDeniedStep(StrictModel):
    """A request that the platform must refuse, for the stated reason.

    ``forbidden``: RBAC said no (403, including escalation prevention); ``admission``: an
    admission controller said no (PodSecurity, LimitRanger, a webhook or admission policy);
    ``quota``: a ResourceQuota is exceeded; ``invalid``: the object fails validation (422).
    ``message`` must appear in the server's message when given. Writes send ``template`` or
    ``manifest``; ``get``, ``list`` and ``delete`` name the object with ``kind``/``name``.
    If the request is wrongly allowed, whatever it created is deleted again.
    """

    reason: DenialReason
    message: str | None = None
    verb: Verb = "create"
    template: TemplateName | None = None
    manifest: Manifest | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    api_version: str | None = Field(None, alias="apiVersion")
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    #: Ask with ``dryRun=All`` (nothing is persisted even when wrongly allowed).
    dry_run: bool = False
    #: Seconds to retry answers that mean "not yet" (see ``apply.timeout``).
    timeout: Seconds = 10
    #: With ``dry_run``: seconds during which an allowed answer is asked again, for the first
    #: check after a policy or webhook is registered (it takes effect through a watch). Zero,
    #: the default, fails on the first allowed answer, so a flapping policy is never hidden.
    settle: Seconds = 0

    @model_validator(mode="after")
    def _target(self) -> ExpectDeniedStep:
        if self.settle and not self.dry_run:
            raise invalid("settle needs dry_run: true", hint="nothing may be stored while waiting for a policy")
        writes = self.verb in ("create", "apply", "update", "patch")
        if writes:
            _exactly_one(self, ("template", "manifest"), f"expect_denied with verb {self.verb}")
            if self.kind or self.name:
                raise invalid(f"verb {self.verb} sends a manifest; kind and name come from it")
        else:
            if self.template or self.manifest:
                raise invalid(f"verb {self.verb} sends no body; name the object with kind and name")
            if not self.kind:
                raise invalid(f"verb {self.verb} needs kind (and name, except for list)")
            if self.verb != "list" and not self.name:
                raise invalid(f"verb {self.verb} needs name")
        return self

    def describe(self) -> str:
        target = self.template or (_manifest_label(self.manifest) if self.manifest else f"{self.kind} {self.name}")
        return f"{self.verb} {target} is denied ({self.reason})"


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


class CheckStep(StrictModel):
    """Call ``function`` from the scenario's ``checks.py`` for logic no declarative step says.

    The function is called as ``function(api, ctx, **args)`` with the current identity's API
    client and a ``CheckContext``; it fails by raising ``AssertionError`` and may return a
    string describing what it saw. ``timeout`` > 0 retries it until it passes.
    """

    function: Annotated[str, Field(pattern=IDENTIFIER_RE.pattern)]
    args: dict[str, Any] = Field(default_factory=dict)
    timeout: Seconds = 0

    def describe(self) -> str:
        return f"check {self.function}"


class DeleteStep(StrictModel):
    """Delete a template's objects (in reverse order), one manifest, or an object by name.

    Missing objects are fine unless ``missing_ok`` is false; with ``wait`` the step returns
    once every object is gone (namespaces take a while: their contents go first).
    """

    template: TemplateName | None = None
    manifest: Manifest | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    api_version: str | None = Field(None, alias="apiVersion")
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    wait: bool = True
    missing_ok: bool = True
    timeout: Seconds = 120

    @model_validator(mode="after")
    def _target(self) -> DeleteStep:
        given = [x for x in (self.template, self.manifest, self.kind) if x is not None]
        if len(given) != 1:
            raise invalid("delete needs exactly one of template, manifest, kind (with name)")
        if self.kind and not self.name:
            raise invalid("delete by kind needs name")
        return self

    def describe(self) -> str:
        if self.template:
            return f"delete {self.template}"
        return f"delete {_manifest_label(self.manifest) if self.manifest else f'{self.kind} {self.name}'}"


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


def _manifest_label(manifest: Manifest | None) -> str:
    if not manifest:
        return "manifest"
    metadata = manifest.get("metadata") if isinstance(manifest.get("metadata"), dict) else {}
    return f"{manifest.get('kind', '?')} {metadata.get('name', '?') if metadata else '?'}"


AsUserStep.model_rebuild()
ProbeStep.model_rebuild()
