"""Build log: minutes per product version and how much of each build the shared Go build cache held."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.cli import main
from harness.toolchain import Component, ToolchainConfig
from harness.toolchain.build_times import BuildLog, BuildRun
from harness.toolchain.components import KIND_NODE_IMAGE_COMPONENTS, LOCAL_CLUSTER_COMPONENTS, ProductBuild
from harness.toolchain.ensure import ensure
from harness.toolchain.sources import ProgressFn
from harness.versions import KubeVersion


def run(version: str, compiled: int, packages: int, finished: float = 1.0, seconds: float = 60.0) -> BuildRun:
    return BuildRun("kubernetes", version, ("kube-apiserver",), seconds, compiled, packages, finished)


@pytest.mark.parametrize(
    ("compiled", "packages", "cache"),
    [
        (3000, 3000, "cold"),
        (2800, 3000, "cold"),
        (0, 3000, "warm"),
        (250, 3000, "warm"),
        (1800, 3000, "40 % reused"),
        (12, 0, "unknown"),
    ],
)
def test_cache_state_follows_the_share_of_packages_reused(compiled: int, packages: int, cache: str) -> None:
    assert run("v1.36.3", compiled, packages).cache == cache


@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=1, max_value=5000))
def test_reused_share_is_a_fraction_and_cold_means_little_reused(compiled: int, packages: int) -> None:
    built = run("v1.36.3", min(compiled, packages), packages)
    assert built.reused is not None and 0.0 <= built.reused <= 1.0
    assert (built.cache == "cold") == (built.reused < 0.1)
    assert (built.cache == "warm") == (built.reused > 0.9)


def test_describe_says_minutes_packages_and_cache() -> None:
    text = run("v1.36.3", 1800, 3000, seconds=366).describe()
    assert text == "kubernetes v1.36.3 (kube-apiserver): 6.1 min, 1800 of 3000 packages compiled (40 % reused)"


def test_log_keeps_the_newest_runs_per_version_oldest_first(tmp_path: Path) -> None:
    log = BuildLog(tmp_path)
    for number in range(7):
        log.record(run("v1.36.3", 3000 - number, 3000, finished=float(10 + number)))
    log.record(run("v1.35.4", 3000, 3000, finished=5.0))
    runs = log.runs()
    assert [r.version for r in runs] == ["v1.35.4", *["v1.36.3"] * 5]
    assert [r.finished for r in runs[1:]] == [12.0, 13.0, 14.0, 15.0, 16.0]
    assert [r.finished for r in log.since(15.0)] == [15.0, 16.0]


def test_an_unreadable_log_means_no_runs_and_is_rewritten(tmp_path: Path) -> None:
    (tmp_path / "build-log.json").write_text('{"kubernetes v1.36.3": [{"seconds": "x"}]}')
    log = BuildLog(tmp_path)
    assert log.runs() == []
    log.record(run("v1.37.2", 10, 20))
    assert [r.version for r in log.runs()] == ["v1.37.2"]


def test_toolchain_list_builds_shows_minutes_and_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SPIN_HARNESS_CACHE", str(tmp_path))
    log = BuildLog(tmp_path / "toolchain")
    log.record(run("v1.35.4", 3000, 3000, finished=1.0, seconds=720))
    log.record(run("v1.36.3", 1800, 3000, finished=2.0, seconds=366))
    assert main(["toolchain", "list", "--builds"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:6] == ["kubernetes", "v1.35.4", "12.0", "3000", "3000", "cold"]
    assert lines[2].split()[:7] == ["kubernetes", "v1.36.3", "6.1", "1800", "3000", "40", "%"]
    assert main(["toolchain", "list", "--builds", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["version"], r["cache"]) for r in listed] == [("v1.35.4", "cold"), ("v1.36.3", "40 % reused")]


class RecordingSource:
    """Writes fake binaries that report their versions, and records each request."""

    name = "dir"

    def __init__(self) -> None:
        self.requests: list[tuple[str, list[str]]] = []

    def provide(self, build: ProductBuild, components: Sequence[Component], dest: Path, progress: ProgressFn) -> None:
        self.requests.append((build.product.value, [c.value for c in components]))
        for component in components:
            says = {
                Component.KUBECTL: "Client Version: v1.36.3",
                Component.KUBEADM: "v1.36.3",
                Component.COREDNS: "CoreDNS-1.14.2",
                Component.PAUSE: "pause version: 3.10.2",
            }.get(component, f"{component.value} {build.version}")
            script = f"#!/bin/sh\necho '{says}'\n"
            if component is Component.KUBEADM:
                script = (
                    "#!/bin/sh\n"
                    'if [ "$1" = version ]; then echo v1.36.3; exit 0; fi\n'
                    "printf 'registry.k8s.io/coredns/coredns:v1.14.2\\nregistry.k8s.io/pause:3.10.2\\n"
                    "registry.k8s.io/etcd:3.6.8-0\\n'\n"
                )
            (dest / component.value).write_text(script)


def test_a_kind_toolchain_builds_every_kubernetes_command_in_one_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kubeadm names the CoreDNS and pause versions; it is built with the other commands, not alone first."""
    source = RecordingSource()
    monkeypatch.setattr(ToolchainConfig, "build_sources", lambda self: [source])
    monkeypatch.setenv("SPIN_HARNESS_ETCD_VERSION", "v3.6.8")
    config = ToolchainConfig(sources=("dir",), root=tmp_path / "cache")
    ensure(KubeVersion(1, 36, 3), (*LOCAL_CLUSTER_COMPONENTS, *KIND_NODE_IMAGE_COMPONENTS), config=config)
    kubernetes = [components for product, components in source.requests if product == "kubernetes"]
    assert len(kubernetes) == 1
    assert {"kubeadm", "kubelet", "kube-proxy", "kubectl", "kube-apiserver"} <= set(kubernetes[0])
    assert ("coredns", ["coredns"]) in source.requests and ("pause", ["pause"]) in source.requests


def test_a_local_cluster_needs_no_kubectl() -> None:
    assert Component.KUBECTL not in LOCAL_CLUSTER_COMPONENTS
