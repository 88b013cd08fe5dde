"""The matrix file's schema: what a matrix file may say, checked field by field.

A matrix file names the clusters to build (``providers``), the upgrade paths to walk on each
(``paths``), the scenarios to run at every hop (``scenarios``), how much disruption a hop may
cause (``probes``), and optionally a second axis of platform-layer components that move along
the way (``platform``). Every provider is crossed with every path; each pair is a **cell**,
the unit a CI job runs, reports and reproduces.

Schema (every key is checked; an unknown key is an error naming its line)::

    name: nightly                      # required; lower-case letters, digits and dashes
    description: Three minors ...      # optional, shown by `spin-harness matrix show`
    providers: [local, kind, k3d]      # required; each runs every path once
    paths:                             # required; each is from/to or explicit hops
      - from: "1.35"                   # a minor means its newest published patch, so the
        to: "1.37"                     #   file never goes stale; "1.35.2" pins a patch.
                                       #   Expanded one minor at a time (the skew policy):
                                       #   v1.35.4 > v1.36.3 > v1.37.2
      - hops: ["1.35", "1.36", "1.37"] # explicit: each consecutive pair must be an allowed
                                       #   in-place upgrade (no skipped minor, no downgrade)
        nodes_lag: 1                   # optional, 0..3 (default 0): minors the nodes may stay
                                       #   behind the control plane between hops
        platform_steps: []             # optional: replaces platform.steps for this path
    scenarios:                         # optional; default: every scenario directory
      include: ["*"]                   # shell globs over scenario directory names
      exclude: ["slow-*"]
    probes:
      budget:                          # disruption allowed during one hop
        api_max_outage_seconds: 5
        webhook_max_outage_seconds: 5
        min_availability: 0.99
        workload_settle_seconds: 120   # optional: how long tenant workloads may take to be
                                       #   ready again after the hop (workload-health)
      provider_budgets:                # optional: a whole budget for one provider's cells
        kind: {api_max_outage_seconds: 90, webhook_max_outage_seconds: 90, min_availability: 0.25}
    platform:                          # optional second axis
      components:                      # versions oldest first; clusters start on the first
        platform-crd: {versions: [v1, v2]}
      steps:                           # default for every path without platform_steps
        - {at_hop: 1, component: platform-crd, to: v2, with_kubernetes: true}
    workloads:                         # optional: tenant manifests deployed before the
      - ../tenants/prod                #   first hop (relative to this file): a folder (walked,
      - ../tenants/app.json            #   .yaml/.yml/.json, List documents), a file, or a
      - {chart: ../charts/shop, values: [prod.yaml]}  # Helm chart with values files
    allowlist: allowlist.yaml          # optional, relative to this file

Versions are strings: YAML reads an unquoted ``1.30`` as the number 1.3, so numbers are
refused with a hint instead of being guessed at.

``at_hop`` counts the path's Kubernetes versions: 0 is the version the cluster is created
at, ``n`` the n-th upgrade. A step ``with_kubernetes: true`` moves the component in the same
hop as the Kubernetes upgrade to that version (so ``at_hop >= 1``); ``with_kubernetes:
false`` (the default) moves it on its own, in a platform-only hop right after the cluster
reached that version (``at_hop: 0`` upgrades the platform before any Kubernetes upgrade).

Nodes (``nodes_lag``): every hop upgrades the control plane first. Nodes stay on their
version while they are at most ``nodes_lag`` minors behind after the hop, and catch up to the
control plane otherwise; they always catch up on the last hop, so a path ends on a single
version. They also catch up early if the next control-plane upgrade would leave them more
than ``KUBELET_MAX_SKEW`` minors behind mid-hop (kubelets may be three minors older than the
apiserver, and no more).

This module holds the spec models only (pydantic: shape and types, as written). ``model``
holds what a matrix means once resolved, ``load`` turns a file into that, ``expand`` holds
the path and cell logic, and ``dump`` writes a spec back as YAML for the commands that build
a matrix in Python (``gate``, ``repro``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from harness.config.validation import NAME_RE, invalid
from harness.errors import VersionError
from harness.providers import PROVIDERS
from harness.versions import KubeVersion

#: Provider names a matrix may use (``ClusterProvider.name``), from the providers' registry
#: (which imports no provider until one is asked for).
KNOWN_PROVIDERS: tuple[str, ...] = tuple(PROVIDERS)

#: The most ``nodes_lag`` may be.
MAX_NODES_LAG = 3

PLATFORM_VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SCENARIO_GLOB_RE = re.compile(r"[A-Za-z0-9_.*?\[\]!-]+")


def _string(value: object, example: str, rounded: str) -> str:
    """Refuse non-strings; numbers get a quoting hint, since YAML silently rounds them."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise invalid(
            f"{value!r} is a number in YAML, not a version string",
            hint=f'quote it ("{value}"); YAML reads an unquoted {rounded}',
        )
    raise invalid(f'expected a version string such as "{example}", got {type(value).__name__}')


def _kube_version_text(value: object) -> str:
    text = _string(value, "1.36", "1.30 as 1.3")
    try:
        KubeVersion.parse_partial(text, field="version")
    except VersionError as exc:
        raise invalid(exc.message.removeprefix("version: "), hint=exc.hint) from None
    return text


def _platform_version_text(value: object) -> str:
    text = _string(value, "2026.1", "3.10 as 3.1")
    if not PLATFORM_VERSION_RE.fullmatch(text):
        raise invalid(
            f"{text!r} is not a usable component version",
            hint="letters, digits, '.', '_' and '-' only, starting with a letter or digit",
        )
    return text


def _name(value: str) -> str:
    if not NAME_RE.fullmatch(value):
        raise invalid(f"{value!r} is not a valid name", hint="lower-case letters, digits and dashes")
    return value


def _provider(value: str) -> str:
    if value not in KNOWN_PROVIDERS:
        raise invalid(f"unknown provider {value!r}", hint=f"known providers: {', '.join(KNOWN_PROVIDERS)}")
    return value


def _scenario_glob(value: str) -> str:
    if not SCENARIO_GLOB_RE.fullmatch(value):
        raise invalid(
            f"{value!r} is not a scenario name or glob",
            hint="scenario directory names with * ? [] wildcards; no '/' or spaces",
        )
    return value


def _relative_path(value: str) -> str:
    if not value.strip() or "\x00" in value:
        raise invalid("empty or unusable path")
    return value


VersionText = Annotated[str, BeforeValidator(_kube_version_text)]
PlatformVersion = Annotated[str, BeforeValidator(_platform_version_text)]
Name = Annotated[str, AfterValidator(_name)]
ProviderName = Annotated[str, AfterValidator(_provider)]
ScenarioGlob = Annotated[str, AfterValidator(_scenario_glob)]
RelativePath = Annotated[str, AfterValidator(_relative_path)]


class _Spec(BaseModel):
    """Strict: YAML already gives native types, so nothing is coerced behind the author's back."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class PlatformStepSpec(_Spec):
    """Move one platform component to ``to`` at Kubernetes version index ``at_hop``."""

    at_hop: int = Field(ge=0)
    component: Name
    to: PlatformVersion
    with_kubernetes: bool = False


class ComponentSpec(_Spec):
    """A platform-layer component; clusters start on the first version listed."""

    versions: list[PlatformVersion] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ComponentSpec:
        if len(set(self.versions)) != len(self.versions):
            raise invalid("versions must be unique (listed oldest first)")
        return self


class PlatformSpec(_Spec):
    components: dict[Name, ComponentSpec] = Field(default_factory=dict)
    steps: list[PlatformStepSpec] = Field(default_factory=list)


class PathSpec(_Spec):
    """One upgrade path: ``from``/``to`` (expanded by the skew policy) or explicit ``hops``."""

    from_: VersionText | None = Field(default=None, alias="from")
    to: VersionText | None = None
    hops: list[VersionText] | None = Field(default=None, min_length=2)
    nodes_lag: int = Field(default=0, ge=0, le=MAX_NODES_LAG)
    platform_steps: list[PlatformStepSpec] | None = None

    @classmethod
    def between(cls, start: str, target: str) -> PathSpec:
        """A ``from``/``to`` path built in Python, where ``from`` is a keyword (the field is ``from_``)."""
        return cls.model_validate({"from": start, "to": target})

    @model_validator(mode="after")
    def _one_form(self) -> PathSpec:
        if self.hops is not None:
            if self.from_ is not None or self.to is not None:
                raise invalid("give either hops or from/to, not both")
        elif self.from_ is None or self.to is None:
            raise invalid(
                "a path needs both from and to, or a hops list",
                hint='e.g. {from: "1.35", to: "1.37"} or {hops: ["1.35", "1.36"]}',
            )
        return self


class ScenarioSelectionSpec(_Spec):
    include: list[ScenarioGlob] = Field(default_factory=lambda: ["*"], min_length=1)
    exclude: list[ScenarioGlob] = Field(default_factory=list)


class ProbeBudget(_Spec):
    """Disruption one hop may cause before the hop fails."""

    api_max_outage_seconds: float = Field(default=5.0, ge=0)
    webhook_max_outage_seconds: float = Field(default=5.0, ge=0)
    #: Tenant HTTPS through the ingress controller: it serves from its last known routes while
    #: the apiserver restarts, so it gets its own (usually tighter) budget.
    ingress_max_outage_seconds: float = Field(default=5.0, ge=0)
    min_availability: float = Field(default=0.99, ge=0, le=1)
    #: How long tenant workloads ready before the hop may take to be ready again after it
    #: (drained nodes reschedule pods) before ``workload-health`` calls them broken.
    workload_settle_seconds: float = Field(default=120.0, ge=0)


class ProbesSpec(_Spec):
    budget: ProbeBudget = Field(default_factory=ProbeBudget)
    #: Providers whose upgrades restart the API differently (kubeadm's static pods) get their own.
    provider_budgets: dict[ProviderName, ProbeBudget] = Field(default_factory=dict)


class WorkloadSpec(_Spec):
    """A ``workloads:`` entry: a file or folder of manifests (written as a plain string), or a chart."""

    path: RelativePath | None = None
    chart: RelativePath | None = None
    values: list[RelativePath] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _plain_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_form(self) -> WorkloadSpec:
        if (self.path is None) == (self.chart is None):
            raise invalid(
                "a workloads entry is a path, or {chart: DIR, values: [FILE]}",
                hint="e.g. ../tenants/prod or {chart: ../charts/shop, values: [prod.yaml]}",
            )
        if self.values and self.chart is None:
            raise invalid("values apply to a chart only", hint="write {chart: DIR, values: [FILE]}")
        return self

    @model_serializer(mode="wrap")
    def _as_written(self, handler: SerializerFunctionWrapHandler) -> Any:
        """A plain path is written back as the string a person writes."""
        return self.path if self.path is not None else handler(self)


class MatrixSpec(_Spec):
    """A matrix file as written, before versions are resolved against what is published."""

    name: Name
    description: str = ""
    providers: list[ProviderName] = Field(min_length=1)
    paths: list[PathSpec] = Field(min_length=1)
    scenarios: ScenarioSelectionSpec = Field(default_factory=ScenarioSelectionSpec)
    probes: ProbesSpec = Field(default_factory=ProbesSpec)
    platform: PlatformSpec = Field(default_factory=PlatformSpec)
    workloads: list[WorkloadSpec] = Field(default_factory=list)
    allowlist: RelativePath | None = None
