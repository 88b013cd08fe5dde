"""When the k3d provider can run: it needs a rancher/k3s image, which cannot be built offline."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from harness.errors import ClusterError
from harness.images import engine
from harness.providers import unavailable_reason
from harness.providers.k3d import provider as k3d
from harness.versions import KubeVersion


def engine_with_images(monkeypatch: pytest.MonkeyPatch, images: list[str]) -> None:
    fake = SimpleNamespace(
        image=SimpleNamespace(list=lambda repository_or_tag: list(images), exists=images.__contains__)
    )
    monkeypatch.setattr(k3d.engine, "engine_unavailable_reason", lambda: None)
    monkeypatch.setattr(k3d.engine, "docker_client", lambda: fake)
    monkeypatch.setattr(engine, "docker_client", lambda: fake)


def test_without_a_k3s_image_the_reason_says_why_none_can_be_built(monkeypatch: pytest.MonkeyPatch) -> None:
    engine_with_images(monkeypatch, [])
    monkeypatch.delenv("SPIN_HARNESS_K3D_PULL", raising=False)
    reason = unavailable_reason("k3d")
    assert reason is not None
    assert "no rancher/k3s image" in reason and "SPIN_HARNESS_K3D_PULL=1" in reason
    assert "github.com/k3s-io/k3s" in reason and "CGO" in reason


def test_a_present_image_or_allowed_pulls_make_it_available(monkeypatch: pytest.MonkeyPatch) -> None:
    engine_with_images(monkeypatch, ["rancher/k3s:v1.36.3-k3s1"])
    monkeypatch.delenv("SPIN_HARNESS_K3D_PULL", raising=False)
    assert k3d.K3dProvider().available() is None
    assert k3d.K3dProvider().image_for(KubeVersion(1, 36, 3)) == "rancher/k3s:v1.36.3-k3s1"
    with pytest.raises(ClusterError, match=r"rancher/k3s:v1\.37\.2-k3s1 is not in the Docker engine"):
        k3d.K3dProvider().image_for(KubeVersion(1, 37, 2))
    engine_with_images(monkeypatch, [])
    monkeypatch.setenv("SPIN_HARNESS_K3D_PULL", "1")
    assert k3d.K3dProvider().available() is None


def test_without_an_engine_the_engine_is_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(k3d.engine, "engine_unavailable_reason", lambda: "no Docker engine answers")
    assert k3d.K3dProvider().available() == "no Docker engine answers"
