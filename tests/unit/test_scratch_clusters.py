"""The dry-run's scratch clusters started early, and the cell's side-by-side snapshots.

The provider here is a stand-in that records what it was asked: the lending logic decides
which ``create`` gets the early cluster and when the next one starts, which is plain logic.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, cast

import pytest

from harness.errors import ClusterError
from harness.providers import Cluster, ClusterProvider
from harness.run.scratch import LendingProvider, ScratchClusters
from harness.side_by_side import side_by_side
from harness.versions import KubeVersion

V36, V37, V38 = (KubeVersion.parse(v) for v in ("v1.36.3", "v1.37.2", "v1.38.0"))
SCRATCH = "cell-local-abc-dry"


class Recorder:
    """Creates ``Cluster`` records and remembers every call; ``fail`` makes ``create`` raise."""

    name = "local"

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.fail = fail
        self.lock = threading.Lock()

    def create(self, name: str, version: KubeVersion, nodes: int = 1, **_: Any) -> Cluster:
        with self.lock:
            self.calls.append(("create", name, str(version)))
        if self.fail:
            raise ClusterError("etcd exited during start-up")
        return Cluster(name, self.name, version, Path("/dev/null"), Path("/dev/null"), nodes)

    def delete(self, cluster: Cluster) -> None:
        with self.lock:
            self.calls.append(("delete", cluster.name, str(cluster.version)))

    def status(self, cluster: Cluster) -> dict[str, bool]:
        return {"etcd": True}


def lending(targets: list[KubeVersion], fail: bool = False) -> tuple[Recorder, Recorder, ScratchClusters, Any]:
    cell_provider, scratch_provider = Recorder(), Recorder(fail=fail)
    timed: dict[str, float] = {}
    scratch = ScratchClusters(
        cast(ClusterProvider, scratch_provider), SCRATCH, targets, timed=lambda k, s: timed.__setitem__(k, s)
    )
    scratch.start_next()
    return cell_provider, scratch_provider, scratch, LendingProvider(cast(ClusterProvider, cell_provider), scratch)


def test_the_detector_gets_the_cluster_started_early_and_the_next_hop_starts_when_it_is_deleted() -> None:
    cell_provider, scratch_provider, scratch, provider = lending([V37, V38])
    first = provider.create(SCRATCH, V37, nodes=1)
    assert (first.name, first.version) == (SCRATCH, V37)
    assert cell_provider.calls == [], "the cell's own provider made nothing"
    provider.delete(first)
    second = provider.create(SCRATCH, V38, nodes=1)
    provider.delete(second)
    assert scratch_provider.calls == [
        ("create", SCRATCH, "v1.37.2"),
        ("delete", SCRATCH, "v1.37.2"),
        ("create", SCRATCH, "v1.38.0"),
        ("delete", SCRATCH, "v1.38.0"),
    ]
    scratch.close()
    assert len(scratch_provider.calls) == 4, "nothing is left to start or remove"


def test_any_other_create_goes_to_the_cells_provider_and_the_early_cluster_waits() -> None:
    cell_provider, scratch_provider, scratch, provider = lending([V37])
    provider.create("other", V37, nodes=1)
    provider.create(SCRATCH, V36, nodes=1)
    provider.create(SCRATCH, V37, nodes=2)
    provider.create(SCRATCH, V37, nodes=1, keep=True)
    assert [c[:3] for c in cell_provider.calls] == [
        ("create", "other", "v1.37.2"),
        ("create", SCRATCH, "v1.36.3"),
        ("create", SCRATCH, "v1.37.2"),
        ("create", SCRATCH, "v1.37.2"),
    ]
    assert provider.status(None) == {"etcd": True}, "the rest is the cell's provider's"
    scratch.close()
    assert scratch_provider.calls == [("create", SCRATCH, "v1.37.2"), ("delete", SCRATCH, "v1.37.2")]


def test_a_failed_early_create_fails_the_detectors_create_with_its_own_error() -> None:
    _, scratch_provider, scratch, provider = lending([V37], fail=True)
    with pytest.raises(ClusterError, match="etcd exited during start-up"):
        provider.create(SCRATCH, V37, nodes=1)
    scratch.close()
    assert scratch_provider.calls == [("create", SCRATCH, "v1.37.2")]


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
