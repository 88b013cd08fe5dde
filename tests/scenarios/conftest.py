"""Fixtures for scenario tests against real local clusters.

One cluster per test module: scenarios clean up after themselves (teardown deletes and
waits), so tests in a module share it, and creating a cluster per test would triple the run
time without testing more.
"""

from __future__ import annotations

import itertools
import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.providers.base import Cluster
from harness.providers.local import LocalProvider
from harness.scenarios import Scenario, ScenarioRunner, load_scenario
from harness.versions import KubeVersion
from tests.e2e.conftest import e2e_versions

__all__ = ["e2e_versions"]

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "scenarios"
#: The canonical tenant scenarios the project ships (each must stay green on the local provider).
CANONICAL = (
    "tenant-rbac",
    "quotas",
    "workflows",
    "platform-crd",
    "ingress",
    "admission-webhooks",
    "global-fs-mounts",
)
_names = itertools.count()

HEADER = """\
name: {name}
description: A scenario written by a test.
promise: The test's promise holds.
"""


def cluster_name(tag: str) -> str:
    return f"scn{os.getpid() % 100000}-{tag}-{next(_names)}"


@pytest.fixture(scope="module")
def local_cluster(isolated_state: Path, e2e_versions: tuple[KubeVersion, KubeVersion]) -> Iterator[Cluster]:
    """A local cluster at the newer e2e version, removed when the module's tests are done."""
    provider = LocalProvider()
    cluster = provider.create(cluster_name("m"), e2e_versions[1])
    try:
        yield cluster
    finally:
        provider.delete(cluster)


def runner(scenario: Scenario, cluster: Cluster, **kwargs: object) -> ScenarioRunner:
    """A runner with the local provider's capabilities, for ``cluster``."""
    options: dict[str, object] = {
        "capabilities": LocalProvider.capabilities,
        "version": cluster.version,
        "provider_name": "local",
    }
    options.update(kwargs)
    return ScenarioRunner(scenario, cluster.kubeconfig, **options)  # type: ignore[arg-type]


ScenarioFactory = Callable[..., Scenario]


@pytest.fixture
def make_scenario(tmp_path: Path) -> ScenarioFactory:
    """``make_scenario(*parts, name=..., files={...})``: write and load a scenario directory whose
    ``scenario.yaml`` is a header plus ``parts`` (each dedented on its own)."""

    def make(*parts: str, name: str = "planted", files: dict[str, str] | None = None) -> Scenario:
        directory = tmp_path / name
        directory.mkdir()
        body = "".join(textwrap.dedent(part) for part in parts)
        (directory / "scenario.yaml").write_text(HEADER.format(name=name) + body)
        for filename, text in (files or {}).items():
            (directory / filename).write_text(textwrap.dedent(text))
        return load_scenario(directory)

    return make
