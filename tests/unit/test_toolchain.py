"""Toolchain cache: sources tried in order, checksums enforced, versions checked, builds locked."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from harness.errors import ToolchainError
from harness.toolchain import Component, ToolchainConfig
from harness.toolchain.components import ProductBuild
from harness.toolchain.ensure import cached, ensure
from harness.toolchain.sources import ProgressFn, SourceUnavailable
from harness.toolchain.staging import version_ldflags, wrapper_gomod
from harness.versions import KubeVersion

V = KubeVersion(1, 36, 3)
KUBE = [Component.KUBE_APISERVER, Component.KUBECTL]


def fake_binary(path: Path, says: str) -> None:
    path.write_text(f"#!/bin/sh\necho '{says}'\n")
    path.chmod(0o755)


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "bins" / "v1.36.3"
    directory.mkdir(parents=True)
    fake_binary(directory / "kube-apiserver", "Kubernetes v1.36.3")
    fake_binary(directory / "kubectl", "Client Version: v1.36.3")
    return tmp_path / "bins"


def config_for(tmp_path: Path, bin_dir: Path, sources: Sequence[str] = ("dir",)) -> ToolchainConfig:
    return ToolchainConfig(sources=tuple(sources), bin_dir=bin_dir, root=tmp_path / "cache")


def test_dir_source_populates_cache_with_manifest(tmp_path: Path, bin_dir: Path) -> None:
    tools = ensure(V, KUBE, config=config_for(tmp_path, bin_dir))
    apiserver = tools[Component.KUBE_APISERVER]
    assert apiserver.is_file() and apiserver.parent == tmp_path / "cache" / "kubernetes" / "v1.36.3"
    manifest = json.loads((apiserver.parent / "manifest.json").read_text())
    assert manifest["components"]["kube-apiserver"]["source"] == "dir"
    assert len(manifest["components"]["kubectl"]["sha256"]) == 64


def test_cached_binaries_are_not_provided_again(tmp_path: Path, bin_dir: Path) -> None:
    config = config_for(tmp_path, bin_dir)
    ensure(V, KUBE, config=config)
    (bin_dir / "v1.36.3" / "kube-apiserver").unlink()  # the source is gone; the cache must serve
    ensure(V, KUBE, config=config)


def test_corrupted_binary_is_replaced(tmp_path: Path, bin_dir: Path) -> None:
    config = config_for(tmp_path, bin_dir)
    path = ensure(V, KUBE, config=config)[Component.KUBE_APISERVER]
    path.write_text("#!/bin/sh\necho tampered\n")
    again = ensure(V, KUBE, config=config)[Component.KUBE_APISERVER]
    assert "v1.36.3" in again.read_text()


def test_cached_says_whether_ensure_would_find_everything_and_provides_nothing(tmp_path: Path, bin_dir: Path) -> None:
    config = config_for(tmp_path, bin_dir)
    assert not cached(V, KUBE, config=config)
    assert not (tmp_path / "cache").exists(), "asking copied, built or locked nothing"
    path = ensure(V, KUBE, config=config)[Component.KUBE_APISERVER]
    assert cached(V, KUBE, config=config)
    assert not cached(V, [*KUBE, Component.KUBE_SCHEDULER], config=config), "one component is missing"
    path.write_text("#!/bin/sh\necho tampered\n")
    assert not cached(V, KUBE, config=config), "a binary that no longer matches its checksum is no cached one"


def test_wrong_version_binary_is_refused(tmp_path: Path, bin_dir: Path) -> None:
    fake_binary(bin_dir / "v1.36.3" / "kube-apiserver", "Kubernetes v1.35.0")
    with pytest.raises(ToolchainError) as caught:
        ensure(V, KUBE, config=config_for(tmp_path, bin_dir))
    assert "expected v1.36.3" in str(caught.value)
    assert not (tmp_path / "cache" / "kubernetes" / "v1.36.3" / "kube-apiserver").exists()


def test_every_source_failing_lists_each_reason(tmp_path: Path) -> None:
    config = ToolchainConfig(sources=("dir",), bin_dir=tmp_path / "empty", root=tmp_path / "cache")
    with pytest.raises(ToolchainError) as caught:
        ensure(V, KUBE, config=config)
    assert "dir: no kube-apiserver" in str(caught.value)
    leftovers = list((tmp_path / "cache" / "kubernetes" / "v1.36.3").glob(".staging-*"))
    assert leftovers == []


class CountingSource:
    """A source that records how often it is asked, slowly, to expose missing locking."""

    name = "dir"

    def __init__(self) -> None:
        self.calls = 0

    def provide(self, build: ProductBuild, components: Sequence[Component], dest: Path, progress: ProgressFn) -> None:
        self.calls += 1
        threading.Event().wait(0.3)
        for component in components:
            says = "Client Version: v1.36.3" if component is Component.KUBECTL else "Kubernetes v1.36.3"
            fake_binary(dest / component.value, says)


def test_parallel_ensure_provides_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = CountingSource()
    config = ToolchainConfig(sources=("dir",), root=tmp_path / "cache")
    monkeypatch.setattr(ToolchainConfig, "build_sources", lambda self: [source])
    threads = [threading.Thread(target=ensure, args=(V, KUBE), kwargs={"config": config}) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert source.calls == 1


def test_unknown_source_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPIN_HARNESS_TOOLCHAIN_SOURCES", "build,ftp")
    with pytest.raises(ToolchainError, match="unknown source"):
        ToolchainConfig.from_env()


UPSTREAM_GOMOD = """module k8s.io/kubernetes

go 1.26.0

require (
\tk8s.io/api v0.0.0
\tgithub.com/spf13/cobra v1.10.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
)
"""


def test_wrapper_module_replaces_every_staging_module() -> None:
    text = wrapper_gomod(V, UPSTREAM_GOMOD)
    assert "require k8s.io/kubernetes v1.36.3" in text
    assert "\tk8s.io/api => k8s.io/api v0.36.3" in text
    assert "\tk8s.io/client-go => k8s.io/client-go v0.36.3" in text
    assert "go 1.26.0" in text
    assert "./staging" not in text


def test_wrapper_module_needs_staging_modules() -> None:
    with pytest.raises(SourceUnavailable):
        wrapper_gomod(V, "module k8s.io/kubernetes\n")


def test_ldflags_stamp_component_base_and_client_go() -> None:
    flags = version_ldflags(V, "2026-01-01T00:00:00Z")
    assert "-X k8s.io/component-base/version.gitVersion=v1.36.3" in flags
    assert "-X k8s.io/client-go/pkg/version.gitMinor=36" in flags


def test_node_image_products_follow_kubeadm_and_pins(tmp_path: Path, bin_dir: Path) -> None:
    """CoreDNS and pause versions come from what kubeadm lists; containerd and kind are pinned."""
    from harness.toolchain.components import CONTAINERD_VERSION, Product

    versions = bin_dir / "v1.36.3"
    (versions / "kubeadm").write_text(
        "#!/bin/sh\n"
        'if [ "$1" = version ]; then echo v1.36.3; exit 0; fi\n'
        "printf 'registry.k8s.io/coredns/coredns:v1.14.2\\nregistry.k8s.io/pause:3.10.2\\n"
        "registry.k8s.io/etcd:3.6.8-0\\n'\n"
    )
    (versions / "kubeadm").chmod(0o755)
    flat = bin_dir / "flat"
    flat.mkdir()
    fake_binary(flat / "coredns", "CoreDNS-1.14.2")
    fake_binary(flat / "pause", "pause.go (spin-harness) version: 3.10.2")
    fake_binary(flat / "containerd", f"containerd github.com/containerd/containerd/v2 {CONTAINERD_VERSION}")
    config = ToolchainConfig(sources=("dir",), bin_dir=flat, root=tmp_path / "cache")
    from harness.toolchain.ensure import kubeadm_image_versions

    kubeadm_config = ToolchainConfig(sources=("dir",), bin_dir=bin_dir, root=tmp_path / "cache")
    assert kubeadm_image_versions(V, kubeadm_config) == {"coredns": "v1.14.2", "pause": "3.10.2", "etcd": "3.6.8-0"}
    tools = ensure(V, [Component.COREDNS, Component.PAUSE, Component.CONTAINERD], config=config)
    assert tools[Component.COREDNS] == tmp_path / "cache" / Product.COREDNS.value / "v1.14.2" / "coredns"
    assert tools[Component.PAUSE].parent.name == "3.10.2"
    assert tools[Component.CONTAINERD].parent.name == CONTAINERD_VERSION


def test_release_source_leaves_node_image_products_to_the_build() -> None:
    from harness.toolchain.components import Product
    from harness.toolchain.release import ReleaseSource

    with pytest.raises(SourceUnavailable, match="builds coredns from Go modules only"):
        ReleaseSource().provide(
            ProductBuild(Product.COREDNS, "v1.14.2"), [Component.COREDNS], Path("/nonexistent"), print
        )


def test_wrapper_repeats_only_replaces_that_name_published_modules() -> None:
    from harness.toolchain.replaces import published_replaces

    gomod = """module github.com/example/app

require github.com/gorilla/mux v1.8.0

// Local extension module: not something a consumer can fetch.
replace github.com/example/app/ext => ./pkg/ext

replace (
\tgithub.com/gorilla/mux => github.com/containous/mux v0.0.0-20220627093034-b2dd784e613f // fork
\tgithub.com/old/lib v1.2.0 => github.com/new/lib v1.3.0
\tgithub.com/vendored => ../vendored
)
replace github.com/cucumber/godog => github.com/cucumber/godog v0.13.0
"""
    assert published_replaces(gomod) == [
        "github.com/gorilla/mux => github.com/containous/mux v0.0.0-20220627093034-b2dd784e613f",
        "github.com/old/lib v1.2.0 => github.com/new/lib v1.3.0",
        "github.com/cucumber/godog => github.com/cucumber/godog v0.13.0",
    ]


def test_helm_is_stamped_with_its_version_and_the_kubernetes_minor_its_client_go_speaks() -> None:
    from harness.toolchain.components import Product
    from harness.toolchain.pinned import PINNED

    helm = PINNED[Product.HELM]
    gomod = "module helm.sh/helm/v3\n\nrequire (\n\tk8s.io/api v0.36.2\n\tk8s.io/client-go v0.36.2\n)\n"
    flags = helm.stamp("v3.21.4", gomod).split()
    assert "helm.sh/helm/v3/internal/version.version=v3.21.4" in flags
    assert "helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=36" in flags
    assert "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1" in flags
    assert (helm.module, helm.package) == ("helm.sh/helm/v3", "helm.sh/helm/v3/cmd/helm")
    assert helm.stamp("v3.21.4", "module x\n") == "-X helm.sh/helm/v3/internal/version.version=v3.21.4"


def test_pluto_is_built_from_its_lower_case_module_and_stamped_as_its_release_build() -> None:
    from harness.toolchain.components import PLUTO_VERSION, Product
    from harness.toolchain.pinned import PINNED
    from harness.toolchain.tools import TOOL_VERSIONS

    pluto = PINNED[Product.PLUTO]
    assert (pluto.module, pluto.package) == (
        "github.com/fairwindsops/pluto/v5",
        "github.com/fairwindsops/pluto/v5/cmd/pluto",
    )
    # `pluto version` prints "Version:5.22.7": the version check finds the pin without its v.
    assert "-X main.version=5.22.7" in pluto.stamp("v5.22.7", "module x\n")
    assert TOOL_VERSIONS[Component.PLUTO] == PLUTO_VERSION


def test_pinned_tools_go_through_the_cache_and_the_version_check(tmp_path: Path) -> None:
    from harness.toolchain.components import HELM_VERSION, KIND_VERSION
    from harness.toolchain.tools import ensure_tool

    flat = tmp_path / "flat"
    flat.mkdir()
    fake_binary(flat / "helm", f'version.BuildInfo{{Version:"{HELM_VERSION}"}}')
    config = ToolchainConfig(sources=("dir",), bin_dir=flat, root=tmp_path / "cache")
    helm = ensure_tool("helm", config=config)
    assert helm == tmp_path / "cache" / "helm" / HELM_VERSION / "helm"
    assert json.loads((helm.parent / "manifest.json").read_text())["components"]["helm"]["source"] == "dir"
    fake_binary(flat / "kind", "kind v0.1.0")
    with pytest.raises(ToolchainError, match=re.escape(f"expected {KIND_VERSION}")):
        ensure_tool(Component.KIND, config=config)
    with pytest.raises(ToolchainError, match="kubectl is not a standalone tool"):
        ensure_tool("kubectl", config=config)


def test_kwokctl_is_built_from_the_same_kwok_module_and_release_as_the_kwok_controller() -> None:
    from harness.toolchain.components import KWOK_VERSION, KWOKCTL_VERSION, Product
    from harness.toolchain.pinned import PINNED
    from harness.toolchain.tools import TOOL_VERSIONS

    kwokctl = PINNED[Product.KWOKCTL]
    assert (kwokctl.module, kwokctl.package, kwokctl.output) == (
        "sigs.k8s.io/kwok",
        "sigs.k8s.io/kwok/cmd/kwokctl",
        "kwokctl",
    )
    assert kwokctl.stamp("v0.8.0", "") == "-X sigs.k8s.io/kwok/pkg/consts.Version=v0.8.0"
    assert TOOL_VERSIONS[Component.KWOKCTL] == KWOKCTL_VERSION == KWOK_VERSION
    assert Component.KWOKCTL.product is Product.KWOKCTL


def test_a_go_built_binary_is_built_again_when_the_trims_of_its_build_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached Traefik built without lego's DNS providers is not taken once the build trims otherwise."""
    import dataclasses

    from harness.toolchain import gobuild, pinned
    from harness.toolchain.components import TRAEFIK_VERSION, Product
    from harness.toolchain.ensure import ensure_product

    builds: list[str] = []

    def provide(self: object, build: ProductBuild, missing: object, dest: Path, progress: ProgressFn) -> None:
        builds.append(build.key)
        fake_binary(dest / "traefik", f"Version: {TRAEFIK_VERSION}")

    monkeypatch.setattr(gobuild.GoModuleSource, "provide", provide)
    config = ToolchainConfig(sources=("build",), root=tmp_path / "cache")
    build = ProductBuild(Product.TRAEFIK, TRAEFIK_VERSION)
    path = ensure_product(build, [Component.TRAEFIK], config=config)[Component.TRAEFIK]
    record = json.loads((path.parent / "manifest.json").read_text())["components"]["traefik"]
    assert record["source"] == "build" and record["recipe"] == pinned.build_recipe(Product.TRAEFIK) != ""
    ensure_product(build, [Component.TRAEFIK], config=config)
    assert len(builds) == 1, "the same trims: the cached binary is taken"

    (trim,) = pinned.PINNED[Product.TRAEFIK].trims
    other = dataclasses.replace(pinned.PINNED[Product.TRAEFIK], trims=(dataclasses.replace(trim, content="// other"),))
    monkeypatch.setitem(pinned.PINNED, Product.TRAEFIK, other)
    ensure_product(build, [Component.TRAEFIK], config=config)
    assert len(builds) == 2, "other trims: built again"
    assert pinned.build_recipe(Product.HELM) == "", "a build without trims records none"


def test_a_manifest_without_recipes_reads_as_older_versions_wrote_it_and_unknown_keys_are_ignored(
    tmp_path: Path,
) -> None:
    from harness.toolchain.manifest import Manifest

    fake_binary(tmp_path / "helm", "helm")
    manifest = Manifest("helm", "v3")
    manifest.record(tmp_path, "helm", "dir", 1.0, recipe="ignored-for-dir")
    manifest.save(tmp_path)
    written = json.loads((tmp_path / "manifest.json").read_text())
    assert "recipe" not in written["components"]["helm"], "no recipe: the record older versions wrote"
    written["components"]["helm"]["added-later"] = "x"
    (tmp_path / "manifest.json").write_text(json.dumps(written))
    again = Manifest.load(tmp_path, "helm", "v3")
    assert again.verified(tmp_path, "helm", recipe="any") == tmp_path / "helm", "a dir binary has no recipe to match"
