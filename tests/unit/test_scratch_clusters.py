"""The dry-run's scratch cluster started early, and the cell's side-by-side snapshots.

The provider here is a stand-in that records what it was asked: the lending logic decides
which ``create`` gets the early cluster, what is removed and what is reported, which is plain
logic. The interrupt is a real signal delivered while the cell waits for the creating thread.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from harness.errors import ClusterError
from harness.matrix import Cell
from harness.providers import Cluster, ClusterProvider
from harness.run.scratch import LendingProvider, ScratchCluster, start_early
from harness.side_by_side import side_by_side
from harness.versions import KubeVersion

V36, V37, V38 = (KubeVersion.parse(v) for v in ("v1.36.3", "v1.37.2", "v1.38.0"))
SCRATCH = "cell-local-abc-dry"


class Recorder:
    """Creates ``Cluster`` records and remembers every call in ``log`` (shared by both providers,
    so their order shows); ``fail`` makes ``create`` raise, ``release`` holds it until set."""

    name = "local"

    def __init__(self, log: list[tuple[str, ...]], who: str, *, fail: bool = False, built: bool = True) -> None:
        self.log, self.who, self.fail, self.built = log, who, fail, built
        self.release = threading.Event()
        self.release.set()
        self.lock = threading.Lock()

    def toolchain_cached(self, version: KubeVersion) -> bool:
        return self.built

    def create(self, name: str, version: KubeVersion, nodes: int = 1, **_: Any) -> Cluster:
        self.release.wait()
        with self.lock:
            self.log.append((self.who, "create", name, str(version)))
        if self.fail:
            raise ClusterError("etcd exited during start-up")
        return Cluster(name, self.name, version, Path("/dev/null"), Path("/dev/null"), nodes)

    def delete(self, cluster: Cluster) -> None:
        with self.lock:
            self.log.append((self.who, "delete", cluster.name, str(cluster.version)))

    def status(self, cluster: Cluster) -> dict[str, bool]:
        return {"etcd": True}


def lending(
    target: KubeVersion = V37, *, fail: bool = False, built: bool = True, held: bool = False
) -> tuple[list[tuple[str, ...]], Recorder, ScratchCluster, Any]:
    log: list[tuple[str, ...]] = []
    cell_provider, scratch_provider = Recorder(log, "cell"), Recorder(log, "scratch", fail=fail, built=built)
    if held:
        scratch_provider.release.clear()
    scratch = ScratchCluster(cast(ClusterProvider, scratch_provider), SCRATCH, target)
    return log, scratch_provider, scratch, LendingProvider(cast(ClusterProvider, cell_provider), scratch)


def test_the_detector_gets_the_early_cluster_and_a_later_hop_creates_its_own() -> None:
    log, _, scratch, provider = lending()
    first = provider.create(SCRATCH, V37, nodes=1)
    assert (first.name, first.version) == (SCRATCH, V37)
    provider.delete(first)
    second = provider.create(SCRATCH, V38, nodes=1)
    provider.delete(second)
    scratch.close()
    assert log == [
        ("scratch", "create", SCRATCH, "v1.37.2"),
        ("scratch", "delete", SCRATCH, "v1.37.2"),
        ("cell", "create", SCRATCH, "v1.38.0"),
        ("cell", "delete", SCRATCH, "v1.38.0"),
    ], "nothing is started while a later hop runs"


def test_other_creates_pass_through_and_a_mismatch_on_the_name_first_removes_the_early_cluster() -> None:
    log, scratch_provider, scratch, provider = lending(held=True)
    provider.create("other", V37, nodes=1)
    provider.create(SCRATCH, V37, nodes=1, keep=True)
    assert provider.status(None) == {"etcd": True}, "the rest is the cell's provider's"
    scratch_provider.release.set()
    provider.create(SCRATCH, V36, nodes=1)
    provider.create(SCRATCH, V37, nodes=1)
    scratch.close()
    assert log == [
        ("cell", "create", "other", "v1.37.2"),
        ("cell", "create", SCRATCH, "v1.37.2"),
        ("scratch", "create", SCRATCH, "v1.37.2"),
        ("scratch", "delete", SCRATCH, "v1.37.2"),
        ("cell", "create", SCRATCH, "v1.36.3"),
        ("cell", "create", SCRATCH, "v1.37.2"),
    ], "the early cluster is gone before another of its name is made"


def test_a_failed_early_create_fails_the_detectors_create_with_its_own_error() -> None:
    log, _, scratch, provider = lending(fail=True)
    with pytest.raises(ClusterError, match="etcd exited during start-up"):
        provider.create(SCRATCH, V37, nodes=1)
    scratch.close()
    assert log == [("scratch", "create", SCRATCH, "v1.37.2")]


def test_a_failed_early_create_nobody_asked_for_is_reported_once_by_close() -> None:
    _, _, scratch, _ = lending(fail=True)
    with pytest.raises(ClusterError, match=rf"{SCRATCH} at v1.37.2.*never used.*etcd exited during start-up"):
        scratch.close()
    scratch.close()


def test_a_failed_early_create_removed_on_a_mismatch_is_reported_by_close() -> None:
    _, _, scratch, provider = lending(fail=True)
    provider.create(SCRATCH, V36, nodes=1)
    with pytest.raises(ClusterError, match="etcd exited during start-up"):
        scratch.close()


def test_nothing_starts_early_when_the_targets_binaries_are_not_built() -> None:
    log, _, scratch, provider = lending(built=False)
    provider.create(SCRATCH, V37, nodes=1)
    scratch.close()
    assert log == [("cell", "create", SCRATCH, "v1.37.2")], "the detector's create builds, as without the early start"


@pytest.mark.parametrize("waiting_in", ["take", "close"])
def test_an_interrupt_while_waiting_for_the_creation_leaves_it_to_close(waiting_in: str) -> None:
    log, scratch_provider, scratch, provider = lending(held=True)
    (thread,) = [t for t in threading.enumerate() if t.name == f"scratch {SCRATCH}"]
    assert not thread.daemon, "the interpreter waits for a creation under way"

    def interrupt(signum: int, frame: object) -> None:
        scratch_provider.release.set()  # the creation goes on and makes its cluster
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(KeyboardInterrupt):
            provider.create(SCRATCH, V37, nodes=1) if waiting_in == "take" else scratch.close()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    scratch.close()
    assert log == [("scratch", "create", SCRATCH, "v1.37.2"), ("scratch", "delete", SCRATCH, "v1.37.2")]


def cell(*kinds: str) -> Cell:
    versions = [V36, V37, V38]
    hops = [SimpleNamespace(kind=kind, control_plane=versions[min(n, 2)]) for n, kind in enumerate(kinds)]
    return cast(Cell, SimpleNamespace(path=SimpleNamespace(hops=hops)))


@pytest.mark.parametrize(
    ("kinds", "manifests", "started"),
    [
        (("create", "upgrade", "upgrade"), ["m"], "v1.37.2"),
        (("create", "platform", "upgrade"), ["m"], None),
        (("create", "platform"), ["m"], None),
        (("create", "upgrade"), [], None),
    ],
)
def test_only_an_upgrade_right_after_the_creation_gets_its_cluster_early(
    kinds: tuple[str, ...], manifests: list[str], started: str | None
) -> None:
    log: list[tuple[str, ...]] = []
    scratch_provider = cast(ClusterProvider, Recorder(log, "scratch"))
    scratch = start_early(cell(*kinds), scratch_provider, SCRATCH, lambda: manifests, lambda k, s: None)
    if scratch is not None:
        scratch.close()
    expected = [("scratch", "create", SCRATCH, started), ("scratch", "delete", SCRATCH, started)] if started else []
    assert log == expected


def test_side_by_side_keeps_the_order_and_raises_the_first_error_in_that_order() -> None:
    assert side_by_side([lambda: 1, lambda: 2, lambda: 3]) == [1, 2, 3]
    ran: list[str] = []

    def fails(name: str) -> Any:
        def action() -> None:
            ran.append(name)
            raise ValueError(name)

        return action

    with pytest.raises(ValueError, match=r"^b$"):
        side_by_side([lambda: ran.append("a"), fails("b"), fails("c")])
    assert sorted(ran) == ["a", "b", "c"], "every action ran to its end"
