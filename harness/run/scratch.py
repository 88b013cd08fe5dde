"""The dry-run's scratch cluster at the first hop's target, started in the background early.

The dry-run detector asks a throwaway cluster at the hop's target version whether it accepts
the workloads (``harness.detectors.dry_run``). Creating that cluster when the detector asks for
it puts a whole cluster bring-up on the cell's critical path, although nothing about the
cluster depends on the cell: its name, version and size are known once the cell's own cluster
is up. ``ScratchCluster`` starts it then, on a thread and through a provider instance of its
own (a provider keeps per-call state, such as step timings), and ``LendingProvider`` hands it
over when the detector calls ``create`` with that name, version and size. The cluster is the
same fresh cluster the detector would have made itself; the detector installs the platform
components and deletes it as before, so its answer does not change.

Only the first hop's cluster is started early, and only when that hop comes right after the
cell's creation: a later hop's would be made while the hop before it runs its playbook under
the disruption probes, and the availability they measure must not depend on it. It is started
only when its binaries are built already (``toolchain_cached``): otherwise a long build would
run beside the cell's work, and the detector makes the cluster itself, as without the early
start. Only providers whose ``capabilities.background_create`` says a second cluster is cheap
beside a running one get this; for the others ``create`` is passed through unchanged.

The creating thread is never abandoned: ``close`` (the cell's ``finish``) waits for it and
removes what it made and nobody took, and reports a creation that failed unseen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from harness.errors import ClusterError
from harness.providers import Cluster, ClusterProvider
from harness.versions import KubeVersion

if TYPE_CHECKING:
    from harness.matrix import Cell

#: The node count the dry-run detector asks its scratch cluster for.
SCRATCH_NODES = 1


@runtime_checkable
class KnowsCachedToolchains(Protocol):
    """A provider that can tell, without building anything, whether a version's binaries are built."""

    def toolchain_cached(self, version: KubeVersion) -> bool: ...


class _Start:
    """One background ``create``: its thread, its result or error, and how long it took.

    The thread is not a daemon: the interpreter waits for a creation under way rather than
    abandoning it half made (its processes run in sessions of their own and would outlive us).
    """

    def __init__(self, provider: ClusterProvider, name: str, version: KubeVersion) -> None:
        self.name = name
        self.version = version
        self.seconds = 0.0
        #: The binaries were not built, so nothing was started (the detector creates its own).
        self.skipped = False
        self.provider = provider
        self._cluster: Cluster | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        threading.Thread(target=self._run, name=f"scratch {name}").start()

    def _run(self) -> None:
        started = time.monotonic()
        try:
            if not (isinstance(self.provider, KnowsCachedToolchains) and self.provider.toolchain_cached(self.version)):
                self.skipped = True
                return
            self._cluster = self.provider.create(self.name, self.version, nodes=SCRATCH_NODES)
        except BaseException as exc:  # handed to whoever takes the cluster, or reported by close
            self._error = exc
        finally:
            self.seconds = time.monotonic() - started
            self._done.set()

    def wait(self) -> None:
        """Until the creation has ended (an interrupt here leaves everything as it was).

        An event, not ``Thread.join``: a join interrupted by Ctrl-C marks the thread as ended
        although it runs on (CPython 3.11), and a later join would not wait for it.
        """
        self._done.wait()

    def result(self) -> Cluster | None:
        """After ``wait``: the cluster, None if skipped; the creation's own error if it failed."""
        if self._error is not None:
            raise self._error
        return self._cluster

    def discard(self) -> str | None:
        """After ``wait``: remove what the creation made; why it failed, if it did."""
        if self._cluster is not None:
            cluster, self._cluster = self._cluster, None
            self.provider.delete(cluster)
        if self._error is None:
            return None
        return (
            f"the dry-run's scratch cluster {self.name} at {self.version}, started early and never used, "
            f"failed to start: {type(self._error).__name__}: {self._error}"
        )


class ScratchCluster:
    """The scratch cluster called ``name`` at ``version``, started before it is asked for.

    ``timed`` records the background creation's duration (``scratch cluster@VERSION``) when
    the cluster is taken.
    """

    def __init__(
        self,
        provider: ClusterProvider,
        name: str,
        version: KubeVersion,
        *,
        timed: Callable[[str, float], None] = lambda name, seconds: None,
    ) -> None:
        self.provider = provider
        self.name = name
        self._timed = timed
        self._lock = threading.Lock()
        self._pending: _Start | None = _Start(provider, name, version)
        self._lent: Cluster | None = None
        #: A failed creation removed without being reported yet (``close`` reports it).
        self._unreported: str | None = None

    def take(self, name: str, version: KubeVersion, nodes: int) -> Cluster | None:
        """The early cluster when it is the one asked for; None to let the caller create its own.

        Any other ``create`` of the scratch name first removes the early cluster, which would
        otherwise hold the name. The pending creation is given up only once the wait for it has
        returned: an interrupt during the wait leaves it to ``close``.
        """
        with self._lock:
            pending = self._pending
        if pending is None or name != self.name:
            return None
        pending.wait()
        with self._lock:
            if self._pending is not pending:  # closed meanwhile
                return None
            self._pending = None
        if (version, nodes) != (pending.version, SCRATCH_NODES):
            self._unreported = pending.discard()
            return None
        if pending.skipped:
            return None
        self._timed(f"scratch cluster@{version}", pending.seconds)
        self._lent = pending.result()
        return self._lent

    def lent(self, cluster: Cluster) -> bool:
        """Whether ``cluster`` is the one ``take`` handed over."""
        return self._lent is not None and cluster is self._lent

    def close(self) -> None:
        """Wait for a creation still under way, remove a cluster nobody took, and raise
        ``ClusterError`` if the creation failed without anyone hearing of it."""
        with self._lock:
            pending = self._pending
        if pending is not None:
            pending.wait()
            with self._lock:
                if self._pending is not pending:
                    pending = None
                self._pending = None
        failure = pending.discard() if pending is not None else None
        failure, self._unreported = failure or self._unreported, None
        if failure is not None:
            raise ClusterError(failure)


class LendingProvider:
    """The cell's provider, except that ``create`` of the scratch cluster returns the one started early.

    Everything else goes to the cell's provider; the lent cluster is deleted by the provider
    that made it.
    """

    def __init__(self, provider: ClusterProvider, scratch: ScratchCluster) -> None:
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
        if self._scratch.lent(cluster):
            self._scratch.provider.delete(cluster)
        else:
            self._provider.delete(cluster)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._provider, attribute)


def start_early(
    cell: Cell,
    provider: ClusterProvider,
    name: str,
    manifests: Callable[[], Sequence[object]],
    timed: Callable[[str, float], None],
) -> ScratchCluster | None:
    """Start the scratch cluster of the cell's first hop now; None when that hop is no upgrade
    right after the creation, or there are no workload manifests for the dry-run to ask about."""
    hops = [hop for hop in cell.path.hops if hop.kind != "create"]
    if not hops or hops[0].kind != "upgrade" or not manifests():
        return None
    return ScratchCluster(provider, name, hops[0].control_plane, timed=timed)


def lending(provider: ClusterProvider, scratch: ScratchCluster) -> ClusterProvider:
    """``provider``, lending ``scratch``'s cluster (a ``ClusterProvider`` by delegation)."""
    return cast(ClusterProvider, LendingProvider(provider, scratch))
