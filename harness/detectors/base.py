"""What a detector is, and what the cell hands it: the ``Detector`` protocol and its contexts.

A detector reads the cluster into plain data before the hop (and, when ``reads_after``, again
after it) and turns those snapshots into findings with a pure ``compare``. The cell knows
nothing else about any detector: it runs ``harness.detectors.registry.DETECTORS`` in a loop,
one test item per detector, so adding a detector is one module plus one registry line (see
``docs/detectors.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from harness.detectors.attribution import Attribution
from harness.errors import HarnessError
from harness.findings import Finding
from harness.kube.api_warnings import WarningLog

if TYPE_CHECKING:
    from kubernetes import client

    from harness.detectors.disruption import Timeline
    from harness.matrix import ProbeBudget
    from harness.providers import Cluster, ClusterProvider
    from harness.versions import KubeVersion
    from harness.workloads.replay import Manifest

S = TypeVar("S")


def _nobody(apis: Sequence[str]) -> dict[str, Attribution]:
    """No audit log to ask: nobody is known to have requested ``apis``."""
    return {}


@dataclass(frozen=True)
class SnapshotContext:
    """The cluster as it is now (before or after the hop), and what the cell can lend a snapshot."""

    cluster: Cluster
    #: An API client on ``cluster``, shared by the detectors snapshotting at the same moment.
    api: client.ApiClient
    #: The version the cluster is at now, as the report labels it (``v1.37.2+ingress@3.1``).
    version: str
    #: The control-plane version the hop goes to.
    target: KubeVersion
    #: Whether the hop upgrades Kubernetes (not only platform components).
    upgrade: bool
    #: Creates and deletes throwaway clusters (the dry-run detector asks a scratch one).
    provider: ClusterProvider
    #: A name for such a scratch cluster, unique to this cell.
    scratch_name: str
    #: Platform component -> the version it has once the hop is done.
    platform_after: Mapping[str, str]
    #: The matrix's workload manifests (read from disk when called).
    workloads: Callable[[], list[Manifest]]
    #: Run ``action`` and add its duration to the cell's timings under ``name``.
    timed: Callable[[str, Callable[[], Any]], Any]
    #: The apiserver's warnings about tenant objects, heard so far in this cell.
    api_warnings: WarningLog = field(default_factory=WarningLog)
    #: Whether this is the snapshot taken after the hop (``reads_after`` detectors are asked twice).
    after_hop: bool = False
    #: After the hop: this detector's own snapshot from before it, so a detector that waits for
    #: the cluster to settle knows what to wait for (``workload-health``); None before the hop.
    before: Any = None
    #: How long, at most, a detector may wait after the hop for tenant workloads to be ready
    #: again (the matrix's ``probes.budget.workload_settle_seconds``).
    settle_seconds: float = 0.0


@dataclass(frozen=True)
class HopContext:
    """What ``compare`` may know about the hop besides the two snapshots."""

    #: The hop as findings name it: ``v1.36.3>v1.37.2``.
    label: str
    target: KubeVersion
    budget: ProbeBudget
    #: The probes' timelines recorded during the hop.
    timelines: list[Timeline] = field(default_factory=list)
    #: apiVersion -> the tenant manifests (workload files) that use it.
    api_users: Callable[[], dict[str, list[str]]] = dict
    #: apiVersion -> the harness's own scenario manifests that use it (never held against tenants).
    harness_users: Callable[[], dict[str, list[str]]] = dict
    #: Who requested these APIs (group-versions, or ``"group-version resource"``), from the audit log.
    requests_to: Callable[[Sequence[str]], dict[str, Attribution]] = _nobody


class Detector(Protocol[S]):
    """One detector: a name, what it snapshots, and a pure comparison of two snapshots."""

    #: The kind of its findings, and the phase of its test item (``detectors::<name>@v1.37.2``).
    @property
    def name(self) -> str: ...

    #: Whether ``compare`` needs a second snapshot taken after the hop (``after`` is None if not).
    @property
    def reads_after(self) -> bool: ...

    def snapshot(self, ctx: SnapshotContext) -> S:
        """Read what the comparison needs from the cluster (before the hop, and after if asked)."""
        ...

    def compare(self, before: S, after: S | None, hop: HopContext) -> list[Finding]:
        """Findings from the snapshots; pure, so unit tests plant regressions without a cluster."""
        ...


@dataclass(frozen=True)
class ApiDetector(Generic[S]):
    """The common shape: read the API before and after the hop, compare the two readings.

    ``read`` and ``judge`` are the detector module's own plain functions, so its unit tests call
    them directly; this only adapts them to the protocol.
    """

    name: str
    read: Callable[[client.ApiClient], S]
    judge: Callable[[S, S, HopContext], list[Finding]]
    reads_after: bool = True

    def snapshot(self, ctx: SnapshotContext) -> S:
        result: S = ctx.timed(f"snapshot@{ctx.version}", lambda: self.read(ctx.api))
        return result

    def compare(self, before: S, after: S | None, hop: HopContext) -> list[Finding]:
        if after is None:
            raise HarnessError(f"{self.name}: no snapshot was taken after the hop")
        return self.judge(before, after, hop)
