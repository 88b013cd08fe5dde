"""The contract between the harness and whatever runs a cluster.

A provider makes nodes and control planes (local processes, kind containers, k3d
containers); everything above it (scenarios, detectors, upgrade paths) talks to the cluster
only through its kubeconfig. What a provider can and cannot do is data
(``ProviderCapabilities``) that scenarios consult, never ``if provider == "kind"``.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.versions import KubeVersion


@dataclass(frozen=True)
class ProviderCapabilities:
    """What clusters of a provider can do; scenario steps needing more are skipped with a reason."""

    #: Pods really run processes (a file read through a mount is observable).
    real_containers: bool = False
    #: Requests can cross an ingress controller to a Service's pods.
    ingress_data_path: bool = False
    #: Upgrades keep the same etcd data and object UIDs (in place, not recreate).
    in_place_upgrade: bool = True
    #: Webhook servers on the host's loopback are reachable from the apiserver.
    loopback_webhooks: bool = True
    #: The apiserver audit log is readable by the harness.
    audit_log: bool = True
    #: A second cluster can be created while one is in use, in seconds and without starving it
    #: (the dry-run's scratch cluster is then started early, beside the cell's own work).
    background_create: bool = False

    def names(self) -> frozenset[str]:
        """Capability names as scenarios spell them (``real-containers``...), for the ones present."""
        return frozenset(k.replace("_", "-") for k, v in vars(self).items() if v)


@dataclass
class Cluster:
    """A cluster as the harness sees it: enough to reach it and to find its state again."""

    name: str
    provider: str
    version: KubeVersion
    kubeconfig: Path
    state_dir: Path
    nodes: int = 1
    #: Per-component log files, for artifacts.
    logs: dict[str, Path] = field(default_factory=dict)
    #: The apiserver audit log, when the provider keeps one.
    audit_log: Path | None = None


@dataclass(frozen=True)
class ClusterRow:
    """One line of ``cluster list``: a cluster as its state records it, or a broken record."""

    name: str
    provider: str
    phase: str
    version: str | None = None
    nodes: int | None = None
    #: ``kept``, or ``pid N`` of the process the cluster lives for.
    owner: str | None = None
    apiserver: str | None = None
    kubeconfig: str | None = None
    #: Node (container) names, control plane first, where nodes have names of their own.
    node_names: tuple[str, ...] = ()
    #: Provider-specific facts worth showing (the node image of a kind cluster).
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def broken(cls, name: str, provider: str) -> ClusterRow:
        """The row of a cluster whose state cannot be read."""
        return cls(name, provider, "broken (see 'spin-harness gc')")

    def to_json(self) -> dict[str, Any]:
        """The ``cluster list --json`` object (the playbook reads ``name``, ``provider``, ``version``)."""
        raw: dict[str, Any] = {"name": self.name, "provider": self.provider}
        if self.version is not None:
            raw.update(
                version=self.version,
                nodes=self.nodes,
                phase=self.phase,
                owner=self.owner,
                apiserver=self.apiserver,
                kubeconfig=self.kubeconfig,
            )
        else:
            raw["phase"] = self.phase
        raw.update(self.extra)
        if self.node_names:
            raw["nodes_list"] = list(self.node_names)
        return raw


@dataclass(frozen=True)
class Garbage:
    """Something ``gc`` would remove, why, and how."""

    what: str
    reason: str
    collect: Callable[[], None]
    #: Housekeeping (a stale lock file) that ``gc`` does without listing it.
    quiet: bool = False
    #: It belongs to a process that is gone (a killed run or worker): what a pytest session
    #: collects when it starts, since no live run can still be using it.
    owner_gone: bool = False


@dataclass(frozen=True)
class UpgradeAction:
    """One named step of an in-place upgrade, run by name by ``upgrade()`` and by the playbook."""

    name: str
    #: The node (container) the action is about, for per-node actions.
    node: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"name": self.name, "node": self.node}

    def __str__(self) -> str:
        return self.name if self.node is None else f"{self.name} {self.node}"


@runtime_checkable
class ClusterProvider(Protocol):
    """Creates, upgrades in place, and removes clusters of one kind."""

    #: The name used on the command line and in matrices (``local``, ``kind``, ``k3d``).
    name: str
    capabilities: ProviderCapabilities

    def available(self) -> str | None:
        """None when this provider can run here; otherwise the reason it cannot."""
        ...

    def create(
        self,
        name: str,
        version: KubeVersion,
        nodes: int = 1,
        *,
        keep: bool = False,
        api_port: int | None = None,
    ) -> Cluster:
        """Start a cluster at ``version`` and return once it is ready (API healthy, nodes Ready).

        ``keep``: the cluster outlives the calling process (removed only by ``delete``);
        otherwise the caller owns it and ``gc`` removes it once the caller is gone.
        """
        ...

    def upgrade(self, cluster: Cluster, to_version: KubeVersion, *, force: bool = False) -> Cluster:
        """Move a running cluster to ``to_version`` in place, keeping its data; refuse skew violations.

        Runs the actions of ``upgrade_plan`` in order, as the playbook does one by one.
        """
        ...

    def upgrade_plan(self, cluster: Cluster, to_version: KubeVersion) -> builtins.list[UpgradeAction]:
        """The named actions that move ``cluster`` to ``to_version``, in the order they must run."""
        ...

    def upgrade_action(
        self, cluster: Cluster, to_version: KubeVersion, action: UpgradeAction, *, force: bool = False
    ) -> str:
        """Run one action of ``upgrade_plan``; a line saying what it did.

        Actions may be run again after a failure; the first one refuses skew violations unless ``force``.
        """
        ...

    def delete(self, cluster: Cluster) -> None:
        """Stop every process or container of the cluster and remove its state."""
        ...

    def kubeconfig(self, cluster: Cluster) -> Path:
        """Path to an admin kubeconfig (file mode 0600) for the cluster."""
        ...

    def status(self, cluster: Cluster) -> dict[str, bool]:
        """Which of the cluster's components (processes or containers) are running now."""
        ...

    def get(self, name: str) -> Cluster:
        """The existing cluster called ``name``; ``ClusterError`` if there is none."""
        ...

    def clusters(self) -> builtins.list[Cluster]:
        """Every cluster of this provider known in the state directory."""
        ...

    def list(self) -> builtins.list[ClusterRow]:
        """A row per cluster of this provider, those with unreadable state included."""
        ...

    def describe(self, cluster: Cluster) -> ClusterRow:
        """The ``cluster list`` row of one cluster."""
        ...

    def garbage(self, everything: bool = False) -> builtins.list[Garbage]:
        """What ``gc`` should remove of this provider's (``everything``: every cluster), and why.

        Asks nothing of a container engine when there is nothing of this provider's to look at.
        """
        ...

    def component_pids(self, cluster: Cluster) -> dict[str, int]:
        """Host process ids of the cluster's components by name (fault injection); empty for containers."""
        ...

    def scenario_defaults(self, cluster: Cluster | None = None) -> dict[str, str]:
        """Scenario parameters this provider's clusters need changed (``image``: what pods can run).

        With ``cluster``, also those of that cluster (where its ingress answers). Applied to every
        scenario that declares the parameter.
        """
        ...

    def service_host(self) -> str:
        """The host address the harness's own services (the webhook) listen on for these clusters.

        ``127.0.0.1`` where the apiserver runs on this host; for containerised control planes,
        the host's side of their private network, never an address reachable from outside.
        """
        ...
