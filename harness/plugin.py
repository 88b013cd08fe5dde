"""The pytest plugin: options, fixtures and hooks; the work itself lives in plain modules.

Registered through the ``pytest11`` entry point, so any test suite that installs spin-harness
gets ``cluster_factory`` (clusters created on demand and always removed, unless
``--keep-clusters``) and the provider options.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from harness.providers import Cluster, ClusterProvider, get_provider
from harness.versions import KubeVersion

_names = itertools.count()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("spin-harness")
    group.addoption(
        "--provider", default=None, help="cluster provider for e2e tests and matrices (default local)"
    )
    group.addoption(
        "--keep-clusters",
        action="store_true",
        default=False,
        help="keep clusters after the tests and print their KUBECONFIG",
    )


@dataclass
class ClusterFactory:
    """Creates clusters for a test and removes them afterwards, whatever the outcome."""

    provider: ClusterProvider
    keep: bool
    prefix: str
    created: list[Cluster] = field(default_factory=list)

    def create(self, version: KubeVersion, nodes: int = 1, name: str | None = None) -> Cluster:
        name = name or f"{self.prefix}-{next(_names)}"
        cluster = self.provider.create(name, version, nodes)
        self.created.append(cluster)
        return cluster

    def close(self) -> list[str]:
        notes = []
        for cluster in reversed(self.created):
            if self.keep:
                notes.append(f"kept cluster {cluster.name}: export KUBECONFIG={cluster.kubeconfig}")
                continue
            try:
                self.provider.delete(cluster)
            except Exception as exc:  # report, keep removing the others
                notes.append(f"could not remove cluster {cluster.name}: {exc}")
        self.created.clear()
        return notes


@pytest.fixture
def cluster_factory(request: pytest.FixtureRequest) -> Iterator[ClusterFactory]:
    """Make clusters inside a test; each is removed at teardown unless ``--keep-clusters``."""
    provider_name = request.config.getoption("--provider") or "local"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    factory = ClusterFactory(
        get_provider(provider_name),
        bool(request.config.getoption("--keep-clusters")),
        prefix=f"t{os.getpid() % 100000}{worker[-2:]}",
    )
    yield factory
    for note in factory.close():
        request.node.add_report_section("teardown", "spin-harness", note)
