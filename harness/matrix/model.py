"""The upgrade matrix once resolved: exact versions, hops and cells, as the plugin runs them.

Immutable, hashable and free of file syntax: ``load`` builds these from a ``MatrixSpec`` (see
``harness.matrix.spec`` for the file format and what ``at_hop`` and ``nodes_lag`` mean), and
``expand`` holds the path and cell logic. The cell id syntax lives here too, so ``Cell.id``
needs no import from ``expand``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.matrix.spec import ProbeBudget
from harness.versions import KubeVersion
from harness.workloads.manifest import WorkloadInput

#: How many minors a kubelet may be older than the apiserver (upstream policy since 1.28).
KUBELET_MAX_SKEW = 3


HopKind = Literal["create", "upgrade", "platform"]


@dataclass(frozen=True)
class PlatformStep:
    """A validated platform step (see ``harness.matrix.spec`` for ``at_hop``)."""

    at_hop: int
    component: str
    to: str
    with_kubernetes: bool = False


@dataclass(frozen=True)
class PlatformMove:
    """One component changing version inside a hop."""

    component: str
    from_version: str
    to_version: str


@dataclass(frozen=True)
class Hop:
    """One step of a path, and the state the cluster is in once it is done.

    ``create`` starts the cluster (always first); ``upgrade`` moves the control plane (then
    the nodes, when they change) and any ``with_kubernetes`` components; ``platform`` moves
    components only. Scenarios verify after every hop.
    """

    index: int
    kind: HopKind
    #: Index into ``UpgradePath.versions`` of the control-plane version after this hop.
    at: int
    control_plane: KubeVersion
    nodes: KubeVersion
    platform: tuple[PlatformMove, ...] = ()
    #: Every component's version after this hop, sorted by component name.
    platform_versions: tuple[tuple[str, str], ...] = ()

    @property
    def nodes_lag(self) -> int:
        """Minors the nodes are behind the control plane after this hop."""
        return self.control_plane.minor - self.nodes.minor


@dataclass(frozen=True)
class CellKey:
    """What a cell id says: enough to rebuild the cell's path without the matrix file."""

    provider: str
    versions: tuple[KubeVersion, ...]
    nodes_lag: int = 0
    steps: tuple[PlatformStep, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.provider}:{format_path_label(self.versions, self.nodes_lag, self.steps)}"


@dataclass(frozen=True)
class UpgradePath:
    """A resolved path: exact Kubernetes versions, node plan and platform steps, as hops."""

    #: Control-plane versions, strictly increasing; each pair passes ``upgrade_refusal``.
    versions: tuple[KubeVersion, ...]
    hops: tuple[Hop, ...]
    nodes_lag: int = 0
    #: Platform steps in execution order.
    steps: tuple[PlatformStep, ...] = ()

    @property
    def start(self) -> KubeVersion:
        return self.versions[0]

    @property
    def target(self) -> KubeVersion:
        return self.versions[-1]

    @property
    def label(self) -> str:
        """The cell id without the provider: ``v1.35.4>v1.36.3``."""
        return format_path_label(self.versions, self.nodes_lag, self.steps)


@dataclass(frozen=True)
class Cell:
    """One provider walking one path: the unit CI runs, reports and reproduces."""

    provider: str
    path: UpgradePath

    @property
    def id(self) -> str:
        """Stable and unique within a matrix: ``local:v1.35.4>v1.36.3>v1.37.2``."""
        return f"{self.provider}:{self.path.label}"

    @property
    def key(self) -> CellKey:
        return CellKey(self.provider, self.path.versions, self.path.nodes_lag, self.path.steps)


@dataclass(frozen=True)
class ScenarioSelection:
    """Which scenario directories run; ``include_where`` locates each include for errors."""

    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    include_where: tuple[str, ...] = ()


@dataclass(frozen=True)
class Matrix:
    """A loaded matrix file with every version resolved and every path expanded."""

    name: str
    source: Path
    providers: tuple[str, ...]
    paths: tuple[UpgradePath, ...]
    cells: tuple[Cell, ...]
    description: str = ""
    scenarios: ScenarioSelection = field(default_factory=ScenarioSelection)
    budget: ProbeBudget = field(default_factory=ProbeBudget)
    provider_budgets: tuple[tuple[str, ProbeBudget], ...] = ()
    #: Component name -> versions, oldest first (clusters start on the first).
    components: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: Tenant manifests (files, folders, charts with values) replayed before the first hop.
    workloads: tuple[WorkloadInput, ...] = ()
    allowlist: Path | None = None

    def budget_for(self, provider: str) -> ProbeBudget:
        """The probe budget of ``provider``'s cells: its own if the matrix gives one."""
        return dict(self.provider_budgets).get(provider, self.budget)


# ---------------------------------------------------------------------------------------------
# Cell id syntax. Kept next to the data so ``Cell.id`` needs no import from ``expand``.
#
#   cell-id  := provider ":" stage (">" stage)* [ "~nodes-lag=" N ]
#   stage    := version move*          Kubernetes upgrade (with components moving alongside)
#             | move+                  platform-only hop at the preceding version
#   move     := "+" component "@" component-version

NODES_LAG_MARK = "~nodes-lag="


def format_path_label(
    versions: tuple[KubeVersion, ...], nodes_lag: int = 0, steps: tuple[PlatformStep, ...] = ()
) -> str:
    """Render versions and steps in the cell-id syntax; ``steps`` must be in execution order."""
    stages: list[str] = []
    for index, version in enumerate(versions):
        alongside = "".join(f"+{s.component}@{s.to}" for s in steps if s.at_hop == index and s.with_kubernetes)
        stages.append(f"{version}{alongside}")
        alone = "".join(f"+{s.component}@{s.to}" for s in steps if s.at_hop == index and not s.with_kubernetes)
        if alone:
            stages.append(alone)
    label = ">".join(stages)
    return f"{label}{NODES_LAG_MARK}{nodes_lag}" if nodes_lag else label
