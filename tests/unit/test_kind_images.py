"""Which images go into which kind node, and how they are loaded there."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from python_on_whales.exceptions import DockerException

from harness.images import kind_load, kind_node
from harness.images.kind_load import image_partitions, import_script, load_into_nodes
from harness.images.kind_node import NodeImage
from harness.progress import no_progress
from harness.providers.common.steps import Steps
from harness.providers.kind import kubeadm_upgrade
from harness.providers.kind.tools import KindTimeouts
from harness.toolchain.components import Component
from harness.versions import KubeVersion

TAGS = {"etcd": "3.7.0-0", "coredns": "v1.14.6", "pause": "3.10.2"}
NODE_IMAGE = NodeImage(
    "node:v1.37.2",
    KubeVersion(1, 37, 2),
    ("apiserver:v1.37.2", "etcd:3.7.0-0", "kube-proxy:v1.37.2", "tenant:1"),
    "tenant:1",
    control_plane_only=("apiserver:v1.37.2", "etcd:3.7.0-0"),
)


@given(
    st.dictionaries(
        st.sampled_from(["cp", "worker", "worker2", "worker3"]),
        st.lists(st.sampled_from(["apiserver", "etcd", "proxy", "pause", "tenant", "webhook"]), unique=True),
    )
)
def test_image_partitions_give_each_node_its_images_once_and_nothing_else(wanted: dict[str, list[str]]) -> None:
    partitions = image_partitions(wanted)
    saved = [image for images in partitions.values() for image in images]
    assert len(saved) == len(set(saved)), "an image saved into two archives"
    for node, images in wanted.items():
        received = [image for nodes, part in partitions.items() if node in nodes for image in part]
        assert sorted(received) == sorted(images)


def test_only_the_static_pods_images_are_the_control_planes_own() -> None:
    """A worker without an image it runs could never get it: nothing is pulled."""
    images = kind_node._component_images(KubeVersion(1, 37, 2), TAGS)
    static = {images[ref] for ref in kind_node.static_pod_images(images)}
    assert static == {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"}
    assert {"kube-proxy", "coredns", "pause"} <= set(images.values()) - static


def test_a_worker_is_not_given_the_static_pods_images() -> None:
    image = NODE_IMAGE
    assert image.images_for(control_plane=True) == image.preloaded
    assert image.images_for(control_plane=False) == ("kube-proxy:v1.37.2", "tenant:1")


class FakeDocker:
    """Records what would be saved, copied and run; nothing reaches an engine."""

    def __init__(self) -> None:
        self.saved: dict[str, list[str]] = {}
        self.copied: list[tuple[str, str, str]] = []
        self.executed: list[tuple[str, list[str]]] = []
        self.image = SimpleNamespace(save=self.save)
        self.container = SimpleNamespace(copy=self.copy, execute=self.execute)

    def save(self, images: list[str], output: Path) -> None:
        self.saved[output.name] = list(images)

    def copy(self, source: Any, destination: Any) -> None:
        if isinstance(destination, tuple):  # an archive into a node
            self.copied.append((destination[0], Path(source).name, destination[1]))

    def execute(self, node: str, command: list[str]) -> None:
        self.executed.append((node, command))


@pytest.fixture
def docker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeDocker:
    """The loader's engine, faked; its archives saved under ``tmp_path``."""
    fake = FakeDocker()
    monkeypatch.setattr(kind_load.engine, "docker_client", lambda: fake)
    monkeypatch.setattr(kind_load.layers, "work_root", lambda: tmp_path)
    return fake


def test_the_upgrade_loads_static_pods_images_into_the_control_plane_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, docker: FakeDocker
) -> None:
    monkeypatch.setattr(kubeadm_upgrade.engine, "docker_client", lambda: docker)
    monkeypatch.setattr(kubeadm_upgrade, "exec_in", lambda *args, **kwargs: "")
    tools = SimpleNamespace(paths={Component.KUBELET: tmp_path / "kubelet"})
    monkeypatch.setattr(kubeadm_upgrade, "ensure", lambda *args, **kwargs: tools)
    image = NODE_IMAGE
    upgrade = kubeadm_upgrade.KubeadmUpgrade(None, Steps(no_progress), KindTimeouts())
    upgrade._load(["c1-control-plane", "c1-worker", "c1-worker2"], image)
    received: dict[str, list[str]] = {}
    for node, archive, _ in docker.copied:
        received.setdefault(node, []).extend(docker.saved.get(archive, []))  # not the kubelet's binary
    assert sorted(received["c1-control-plane"]) == sorted(image.preloaded)
    assert sorted(received["c1-worker"]) == sorted(received["c1-worker2"]) == ["kube-proxy:v1.37.2", "tenant:1"]
    assert sum(len(images) for images in docker.saved.values()) == 4, "each image saved once"


def test_archives_in_a_node_have_names_no_other_load_uses(docker: FakeDocker) -> None:
    load_into_nodes({"a": ["x", "y"], "b": ["y"]})
    load_into_nodes({"a": ["x", "y"], "b": ["y"]})
    targets = [(node, target) for node, _, target in docker.copied]
    assert len(targets) == len(set(targets)) == 6
    load_into_nodes({"a": [], "b": []})
    assert len(docker.executed) == 4, "a node with nothing to load is left alone"


def test_a_node_still_being_made_gets_nothing_before_it_can_take_its_archives(docker: FakeDocker) -> None:
    seen_when_waited: dict[str, tuple[int, int]] = {}

    def wait_for_node(node: str) -> None:  # what had reached the node when its wait began
        copied = sum(1 for n, _, _ in docker.copied if n == node)
        seen_when_waited[node] = (len(docker.saved), copied)

    load_into_nodes({"a": ["x", "y"], "b": ["y"]}, wait_for_node=wait_for_node)
    assert seen_when_waited == {"a": (2, 0), "b": (2, 0)}, "saved first, nothing copied before the wait"
    assert sorted(n for n, _, _ in docker.copied) == ["a", "a", "b"]


def test_a_node_that_never_comes_gets_nothing_and_its_wait_is_the_error(docker: FakeDocker) -> None:
    def wait_for_node(node: str) -> None:
        raise TimeoutError(f"containerd in {node} never answered")

    with pytest.raises(TimeoutError, match="containerd in a never answered"):
        load_into_nodes({"a": ["x"]}, wait_for_node=wait_for_node)
    assert docker.copied == [] and docker.executed == []


def test_the_import_script_removes_every_archive_even_when_an_import_fails(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_ctr = bin_dir / "ctr"
    fake_ctr.write_text(  # records the archive it was given, fails on bad.tar
        '#!/bin/sh\nfor a in "$@"; do last="$a"; done\necho "$last" >> "$LOG"\n[ "${last##*/}" != bad.tar ]\n'
    )
    fake_ctr.chmod(0o755)
    archives = [tmp_path / name for name in ("it's one.tar", "bad.tar", "three.tar")]
    for archive in archives:
        archive.write_text("")
    log = tmp_path / "log"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "LOG": str(log)}
    proc = subprocess.run(["bash", "-c", import_script([str(a) for a in archives])], env=env, check=False)
    assert proc.returncode == 1
    assert log.read_text().splitlines() == [str(archives[0]), str(archives[1])], "stops at the failed import"
    assert not any(a.exists() for a in archives)


def test_archives_copied_before_a_failed_copy_are_removed_from_the_node(docker: FakeDocker) -> None:
    record = docker.copy

    def copy(source: Any, destination: Any) -> None:
        if destination[0] == "cp" and any(node == "cp" for node, _, _ in docker.copied):
            raise DockerException(["docker", "cp"], 1)  # the control plane's second archive
        record(source, destination)

    docker.container.copy = copy
    with pytest.raises(DockerException):
        load_into_nodes({"cp": ["apiserver", "proxy"], "worker": ["proxy"]})
    [first] = [target for node, _, target in docker.copied if node == "cp"]
    removals = [command for node, command in docker.executed if node == "cp" and command[0] == "rm"]
    assert len(removals) == 1 and first in removals[0]
