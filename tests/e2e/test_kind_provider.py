"""The kind provider's node image and removal, on real node containers built here without pulling.

The node image is found again by its inputs; a cluster made from a node image given by name
(as a ``kindest/node`` image would be) is removed without a trace. Pods, the global filesystem,
the in-cluster webhook and the in-place upgrade are checked on the smoke matrix's kind cell
(``test_kind_smoke.py``), one cluster for all of them. Skipped, with the reason, where no Docker
engine answers (scripts/docker-engine starts one).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.images import engine
from harness.images.kind_node import build_node_image
from harness.providers.kind import KindProvider
from harness.providers.kind.state import KindState
from harness.versions import KubeVersion

pytestmark = [pytest.mark.e2e, pytest.mark.kind]


@pytest.fixture(scope="module")
def provider() -> KindProvider:
    # Without the ingress controller: removal does not depend on it (the smoke cell has it).
    provider = KindProvider(ingress=False)
    reason = provider.available()
    if reason:
        pytest.skip(f"kind provider unavailable: {reason}")
    return provider


def test_node_image_is_found_again_by_its_inputs(e2e_versions: tuple[KubeVersion, KubeVersion]) -> None:
    if engine.engine_unavailable_reason():
        pytest.skip(str(engine.engine_unavailable_reason()))
    first = build_node_image(e2e_versions[0])
    again = build_node_image(e2e_versions[0])
    assert again.reference == first.reference and not again.built
    assert first.reference.startswith(f"spin-harness/kind-node:{e2e_versions[0]}-")
    assert any(ref.startswith("registry.k8s.io/kube-apiserver:") for ref in first.preloaded)


def test_delete_leaves_no_container_or_state(
    provider: KindProvider, e2e_versions: tuple[KubeVersion, KubeVersion], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Through SPIN_HARNESS_KIND_NODE_IMAGE, as with a kindest/node image loaded or pullable elsewhere.
    built = build_node_image(e2e_versions[1])
    given = f"example.test/kind-node:{e2e_versions[1]}"
    engine.docker_client().image.tag(built.reference, given)
    monkeypatch.setenv("SPIN_HARNESS_KIND_NODE_IMAGE", "example.test/kind-node:{version}")
    cluster = provider.create(f"kd{os.getpid() % 100000}", e2e_versions[1], nodes=1)
    assert KindState.load(cluster.state_dir).image == given
    names = list(provider.status(cluster))
    assert all(provider.status(cluster).values())
    assert (cluster.kubeconfig.stat().st_mode & 0o777) == 0o600
    provider.delete(cluster)
    assert not Path(cluster.state_dir).exists()
    left = engine.docker_client().container.list(all=True, filters=[("label", f"io.x-k8s.kind.cluster={cluster.name}")])
    engine.docker_client().image.remove(given)
    assert not left, f"containers left: {[c.name for c in left]} (of {names})"
