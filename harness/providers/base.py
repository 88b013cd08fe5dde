"""The contract between the harness and whatever runs a cluster.

A provider makes nodes and control planes (local processes, kind containers, k3d
containers); everything above it (scenarios, detectors, upgrade paths) talks to the cluster
only through its kubeconfig. What a provider can and cannot do is data
(``ProviderCapabilities``) that scenarios consult, never ``if provider == "kind"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

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
        """Move a running cluster to ``to_version`` in place, keeping its data; refuse skew violations."""
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

    def clusters(self) -> list[Cluster]:
        """Every cluster of this provider known in the state directory."""
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
