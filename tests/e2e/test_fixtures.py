"""The plugin's fixtures for test authors: upgrade_path, a module-scoped cluster, a per-test tenant."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from kubernetes import client

from harness.kube.client import api_client, server_version
from harness.providers import Cluster
from harness.tenancy import TENANT_LABEL
from harness.versions import KubeVersion, upgrade_refusal

pytestmark = pytest.mark.e2e


def test_upgrade_path_obeys_the_skew_policy(upgrade_path: tuple[KubeVersion, ...]) -> None:
    assert len(upgrade_path) >= 2
    assert all(upgrade_refusal(a, b) is None for a, b in itertools.pairwise(upgrade_path))


def test_cluster_runs_the_first_version(cluster: Cluster, upgrade_path: tuple[KubeVersion, ...]) -> None:
    with contextlib.closing(api_client(cluster.kubeconfig)) as api:
        assert server_version(api)["gitVersion"] == str(upgrade_path[0])


#: Tenant namespaces handed to the tests of this module, in order.
_seen: list[str] = []


def test_tenant_namespace_is_labelled_and_private_to_the_test(cluster: Cluster, tenant: object) -> None:
    namespace = tenant.namespace  # type: ignore[attr-defined]
    _seen.append(namespace)
    with contextlib.closing(api_client(cluster.kubeconfig)) as api:
        labels = client.CoreV1Api(api).read_namespace(namespace).metadata.labels
    assert labels[TENANT_LABEL] == tenant.name  # type: ignore[attr-defined]


def test_each_test_gets_its_own_tenant(cluster: Cluster, tenant: object) -> None:
    assert _seen, "runs after the test above, whose tenant it compares with"
    previous = _seen[-1]
    assert tenant.namespace != previous  # type: ignore[attr-defined]
    with contextlib.closing(api_client(cluster.kubeconfig)) as api:
        namespaces = {ns.metadata.name: ns for ns in client.CoreV1Api(api).list_namespace().items}
    assert tenant.namespace in namespaces  # type: ignore[attr-defined]
    # The previous test's tenant was removed when that test ended (gone, or still finalising).
    assert previous not in namespaces or namespaces[previous].status.phase == "Terminating"
