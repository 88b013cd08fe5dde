"""Every registered provider answers what the rest of the harness asks, through the protocol alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InputError
from harness.images import engine
from harness.providers import Cluster, ClusterProvider, UpgradeAction, all_providers, get_provider, provider_names
from harness.versions import KubeVersion


@pytest.fixture(autouse=True)
def no_container_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPIN_HARNESS_STATE", str(tmp_path / "state"))
    monkeypatch.setattr(engine, "engine_unavailable_reason", lambda: "no container engine in unit tests")


@pytest.mark.parametrize("name", provider_names())
def test_a_provider_with_no_clusters_lists_and_collects_nothing(name: str) -> None:
    provider = get_provider(name)
    assert isinstance(provider, ClusterProvider) and provider.name == name
    assert provider.list() == [] and provider.clusters() == [] and provider.garbage(everything=True) == []


def test_all_providers_are_every_registered_one() -> None:
    assert [p.name for p in all_providers()] == provider_names()


def test_the_local_upgrade_is_one_action_run_under_the_clusters_lock(tmp_path: Path) -> None:
    provider = get_provider("local")
    cluster = Cluster("c", "local", KubeVersion(1, 36, 3), tmp_path / "kubeconfig", tmp_path)
    (plan,) = provider.upgrade_plan(cluster, KubeVersion(1, 37, 2))
    assert plan.to_json() == {"name": "control-plane-and-nodes", "node": None}
    with pytest.raises(InputError, match="no upgrade action drain n"):
        provider.upgrade_action(cluster, KubeVersion(1, 37, 2), UpgradeAction("drain", "n"))
