"""The pytest plugin: options, fixtures and hooks; the work itself lives in plain modules.

Registered through the ``pytest11`` entry point, so any test suite that installs spin-harness
gets ``cluster_factory`` (clusters created on demand and always removed, unless
``--keep-clusters``) and the provider options. Every session gets the cleanup plugin object
(``harness.session_cleanup``): what dead runs left is collected at the start, and a cluster that
could not be removed fails the session. With ``--matrix``, it registers the matrix run's own
plugin object (``harness.run.matrix_plugin``), which collects the matrix and writes the report.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ClusterError
from harness.providers import DEFAULT_PROVIDER, Cluster, ClusterProvider, get_provider
from harness.session_cleanup import NAME as CLEANUP_NAME
from harness.session_cleanup import SessionCleanup, removal_failed
from harness.versions import KubeVersion

_names = itertools.count()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("spin-harness")
    group.addoption("--provider", default=None, help="cluster provider for e2e tests and matrices (default local)")
    group.addoption(
        "--keep-clusters",
        action="store_true",
        default=False,
        help="keep clusters after the tests and print their KUBECONFIG",
    )
    group.addoption(
        "--upgrade-path",
        default=None,
        help="versions for the upgrade_path/cluster fixtures, e.g. 1.36>1.37 (default: the newest two minors)",
    )
    group.addoption("--matrix", default=None, help="run the cells of this matrix file as test items")
    group.addoption("--cell", default=None, help="run only the cell with this id")
    group.addoption("--report-dir", default=None, help="where summary.json and artifacts go")
    group.addoption(
        "--inject-fault",
        action="append",
        default=[],
        help="fault during every hop: kill|stop:COMPONENT:WHEN[:FOR][@CELL-GLOB] (repeatable; harness/run/faults.py)",
    )
    group.addoption("--until", default=None, help="stop each cell after this phase (setup, verify@v1.36.3, hop@...)")


def _sigterm_as_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    # A CI job cancelled with SIGTERM must still remove its clusters: unwind like Ctrl-C so
    # fixture finalizers and sessionfinish run.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    if not config.pluginmanager.has_plugin(CLEANUP_NAME):
        config.pluginmanager.register(SessionCleanup(config), CLEANUP_NAME)
    matrix_path = config.getoption("--matrix")
    if not matrix_path:
        return
    from harness.matrix import load_matrix
    from harness.run.matrix_plugin import NAME, MatrixPlugin
    from harness.toolchain.goproxy import published_versions

    matrix = load_matrix(Path(matrix_path), published_versions())
    config.pluginmanager.register(MatrixPlugin(config, str(matrix_path), matrix), NAME)


@dataclass
class ClusterFactory:
    """Creates clusters for a test and removes them afterwards, whatever the outcome."""

    provider: ClusterProvider
    keep: bool
    prefix: str
    created: list[Cluster] = field(default_factory=list)
    #: Told of each cluster that could not be removed (the session's cleanup report).
    on_removal_failure: Callable[[str], None] = lambda _message: None

    def create(self, version: KubeVersion, nodes: int = 1, name: str | None = None) -> Cluster:
        name = name or f"{self.prefix}-{next(_names)}"
        cluster = self.provider.create(name, version, nodes, keep=self.keep)
        self.created.append(cluster)
        return cluster

    def close(self) -> list[str]:
        """Remove the clusters made, newest first; return the KUBECONFIG lines of kept ones.

        Raises ``ClusterError`` naming every cluster that could not be removed, once all were
        tried, so the test's teardown errors instead of leaving a cluster running unnoticed.
        """
        notes, failures = [], []
        for cluster in reversed(self.created):
            if self.keep:
                notes.append(f"kept cluster {cluster.name}: export KUBECONFIG={cluster.kubeconfig}")
                continue
            try:
                self.provider.delete(cluster)
            except Exception as exc:  # keep removing the others, then fail
                failure = f"{self.provider.name} cluster {cluster.name}: {exc}"
                failures.append(failure)
                self.on_removal_failure(failure)
        self.created.clear()
        if failures:
            raise ClusterError(
                "could not remove " + "; ".join(failures), hint="see why above, then run 'spin-harness gc'"
            )
        return notes


@pytest.fixture
def cluster_factory(request: pytest.FixtureRequest) -> Iterator[ClusterFactory]:
    """Make clusters inside a test; each is removed at teardown unless ``--keep-clusters``."""
    provider_name = request.config.getoption("--provider") or DEFAULT_PROVIDER
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    factory = ClusterFactory(
        get_provider(provider_name),
        bool(request.config.getoption("--keep-clusters")),
        prefix=f"t{os.getpid() % 100000}{worker[-2:]}",
        on_removal_failure=removal_failed(request.config),
    )
    yield factory
    for note in factory.close():
        request.node.add_report_section("teardown", "spin-harness", note)


@pytest.fixture(scope="session")
def upgrade_path(request: pytest.FixtureRequest) -> tuple[KubeVersion, ...]:
    """The versions a test walks: ``--upgrade-path 1.36>1.37``, or the newest two published minors."""
    from harness.toolchain import goproxy

    raw = request.config.getoption("--upgrade-path")
    if not raw:
        return tuple(goproxy.newest_minors(2))
    from harness.matrix import expand_range

    stops = [goproxy.resolve(part.strip(), field="--upgrade-path") for part in raw.split(">")]
    if len(stops) == 1:
        return tuple(stops)
    return tuple(expand_range(stops[0], stops[-1], goproxy.published_versions()))


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest, upgrade_path: tuple[KubeVersion, ...]) -> Iterator[Cluster]:
    """A cluster at the first version of ``upgrade_path``, shared by the tests of a module."""
    provider_name = request.config.getoption("--provider") or DEFAULT_PROVIDER
    factory = ClusterFactory(
        get_provider(provider_name),
        bool(request.config.getoption("--keep-clusters")),
        prefix=f"m{os.getpid() % 100000}{os.environ.get('PYTEST_XDIST_WORKER', 'gw')[-2:]}",
        on_removal_failure=removal_failed(request.config),
    )
    try:
        yield factory.create(upgrade_path[0], nodes=2)
    finally:
        for note in factory.close():
            print(note, file=sys.stderr)


@pytest.fixture
def tenant(cluster: Cluster) -> Iterator[Any]:
    """A fresh tenant namespace (labelled as the platform does) for one test, removed afterwards."""
    import contextlib

    from kubernetes import client

    from harness.kube.client import api_client
    from harness.scenarios.tenants import make_tenant
    from harness.tenancy import TENANT_LABEL

    made = make_tenant(f"t{next(_names)}", 0)
    with contextlib.closing(api_client(cluster.kubeconfig)) as api:
        core = client.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": made.namespace, "labels": {TENANT_LABEL: made.name}}})
        try:
            yield made
        finally:
            core.delete_namespace(made.namespace)
