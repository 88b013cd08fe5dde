"""Scratch clusters at a hop's target, started in the background while the cell works on its own.

The dry-run detector asks a throwaway cluster at the hop's target version whether it accepts
the workloads (``harness.detectors.dry_run``). Creating that cluster when the detector asks for
it puts a whole cluster bring-up on the cell's critical path, although nothing about the
cluster depends on the cell: its name, version and size are known once the cell's own cluster
is up. ``ScratchClusters`` starts it then, on a thread and through a provider instance of its
own (a provider keeps per-call state, such as step timings), and ``LendingProvider`` hands it
over when the detector calls ``create`` with that name, version and size. The cluster is the
same fresh cluster the detector would have made itself; the detector installs the platform
components and deletes it as before, so its answer does not change.

Only providers whose ``capabilities.background_create`` says a second cluster is cheap beside
a running one get this; for the others ``create`` is passed through unchanged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from harness.providers import Cluster, ClusterProvider
from harness.versions import KubeVersion

if TYPE_CHECKING:
    from harness.matrix import Cell

#: The node count the dry-run detector asks its scratch cluster for.
SCRATCH_NODES = 1


class _Start:
    """One background ``create``: its thread, its result or error, and how long it took."""

    def __init__(self, provider: ClusterProvider, name: str, version: KubeVersion) -> None:
        self.name = name
        self.version = version
        self.seconds = 0.0
        self._provider = provider
        self._cluster: Cluster | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"scratch {name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        try:
            self._cluster = self._provider.create(self.name, self.version, nodes=SCRATCH_NODES)
        except BaseException as exc:  # handed to whoever takes the cluster
            self._error = exc
        finally:
            self.seconds = time.monotonic() - started

    def take(self) -> Cluster:
        """The cluster once it is up; the creation's own error if it failed."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._cluster is not None
        return self._cluster

    def discard(self) -> None:
        """Wait for the creation to end and remove what it made (on any outcome)."""
        self._thread.join()
        if self._cluster is not None:
            self._provider.delete(self._cluster)
            self._cluster = None


class ScratchClusters:
    """Scratch clusters called ``name`` at each of ``targets`` in turn, each started before it is asked for.

    The next target's cluster starts once the previous one is deleted (they share the name).
    ``timed`` records each background creation's duration (``scratch cluster@VERSION``).
    """

    def __init__(
        self,
        provider: ClusterProvider,
        name: str,
        targets: Sequence[KubeVersion],
        *,
        timed: Callable[[str, float], None] = lambda name, seconds: None,
    ) -> None:
        self.provider = provider
        self.name = name
        self._targets = list(targets)
        self._timed = timed
        self._pending: _Start | None = None
        self._lock = threading.Lock()

    def start_next(self) -> None:
        """Start the next target's cluster, unless one is pending or none is left."""
        with self._lock:
            if self._pending is None and self._targets:
                self._pending = _Start(self.provider, self.name, self._targets.pop(0))

    def take(self, name: str, version: KubeVersion, nodes: int) -> Cluster | None:
        """The pending cluster when it is the one asked for; None to let the caller create its own."""
        with self._lock:
            pending = self._pending
            if pending is None or (name, version, nodes) != (pending.name, pending.version, SCRATCH_NODES):
                return None
            self._pending = None
        cluster = pending.take()
        self._timed(f"scratch cluster@{version}", pending.seconds)
        return cluster

    def close(self) -> None:
        """Remove a cluster that was started and never asked for; start no more."""
        with self._lock:
            pending, self._pending = self._pending, None
            self._targets.clear()
        if pending is not None:
            pending.discard()


class LendingProvider:
    """The cell's provider, except that ``create`` of the scratch cluster returns the one started early.

    Everything else (``delete`` included) goes to the provider that made the cluster; once a
    lent scratch cluster is deleted, the next hop's starts.
    """

    def __init__(self, provider: ClusterProvider, scratch: ScratchClusters) -> None:
        self._provider = provider
        self._scratch = scratch

    def create(
        self, name: str, version: KubeVersion, nodes: int = 1, *, keep: bool = False, api_port: int | None = None
    ) -> Cluster:
        if not keep and api_port is None:
            lent = self._scratch.take(name, version, nodes)
            if lent is not None:
                return lent
        return self._provider.create(name, version, nodes, keep=keep, api_port=api_port)

    def delete(self, cluster: Cluster) -> None:
        if cluster.name != self._scratch.name:
            self._provider.delete(cluster)
            return
        self._scratch.provider.delete(cluster)
        self._scratch.start_next()

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._provider, attribute)


def start_early(
    cell: Cell,
    provider: ClusterProvider,
    name: str,
    manifests: Callable[[], Sequence[object]],
    timed: Callable[[str, float], None],
) -> ScratchClusters | None:
    """Start the cell's first upgrade hop's scratch cluster now; None when the dry-run will ask
    for none (no hop upgrades Kubernetes, or there are no workload manifests to ask about)."""
    targets = [hop.control_plane for hop in cell.path.hops if hop.kind == "upgrade"]
    if not targets or not manifests():
        return None
    scratch = ScratchClusters(provider, name, targets, timed=timed)
    scratch.start_next()
    return scratch


def lending(provider: ClusterProvider, scratch: ScratchClusters) -> ClusterProvider:
    """``provider``, lending ``scratch``'s clusters (a ``ClusterProvider`` by delegation)."""
    return cast(ClusterProvider, LendingProvider(provider, scratch))
