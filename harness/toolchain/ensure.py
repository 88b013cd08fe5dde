"""``ensure``: make the binaries for a Kubernetes version present, verified, and cached.

This is the one entry point the rest of the harness uses. For each product build it takes a
file lock (so parallel pytest-xdist workers or CI jobs build once and share), checks the
manifest's checksums, asks the configured sources in order for anything missing, checks each
new binary reports the version it was asked for, and records it in the manifest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from harness.errors import ToolchainError
from harness.paths import cache_root
from harness.toolchain import goproxy
from harness.toolchain.components import (
    CONTAINERD_VERSION,
    HELM_VERSION,
    K3D_VERSION,
    KIND_VERSION,
    KWOK_VERSION,
    KWOKCTL_VERSION,
    LOCAL_CLUSTER_COMPONENTS,
    PLUTO_VERSION,
    TRAEFIK_VERSION,
    Component,
    Product,
    ProductBuild,
)
from harness.toolchain.gobuild import GoModuleSource
from harness.toolchain.localdir import DirectorySource
from harness.toolchain.manifest import Manifest
from harness.toolchain.pinned import build_recipe
from harness.toolchain.release import ReleaseSource, ReleaseURLs
from harness.toolchain.sources import (
    DEFAULT_SOURCES,
    ProgressFn,
    SourceUnavailable,
    ToolchainSource,
    no_progress,
    source_names,
)
from harness.versions import KubeVersion, check_supported


@dataclass(frozen=True)
class ToolchainConfig:
    """Which sources to try, in order, and where they look. Read from the environment by default."""

    sources: tuple[str, ...] = DEFAULT_SOURCES
    bin_dir: Path | None = None
    release_urls: ReleaseURLs = field(default_factory=ReleaseURLs)
    root: Path = field(default_factory=lambda: cache_root() / "toolchain")

    @classmethod
    def from_env(cls) -> ToolchainConfig:
        bin_dir = os.environ.get("SPIN_HARNESS_BIN_DIR")
        return cls(
            sources=source_names(), bin_dir=Path(bin_dir) if bin_dir else None, release_urls=ReleaseURLs.from_env()
        )

    def build_sources(self) -> list[ToolchainSource]:
        chosen: list[ToolchainSource] = []
        for name in self.sources:
            if name == "dir":
                if self.bin_dir is not None:
                    chosen.append(DirectorySource(self.bin_dir))
            elif name == "build":
                chosen.append(GoModuleSource(self.root / "build"))
            elif name == "release":
                chosen.append(ReleaseSource(self.release_urls))
        return chosen


@dataclass(frozen=True)
class Toolchain:
    """The binaries for one Kubernetes version, and the versions of the products beside it."""

    kubernetes_version: KubeVersion
    etcd_version: str
    kwok_version: str
    paths: dict[Component, Path]

    def __getitem__(self, component: Component) -> Path:
        try:
            return self.paths[component]
        except KeyError:
            raise ToolchainError(f"{component.value} was not requested from the toolchain") from None


def product_dir(root: Path, build: ProductBuild) -> Path:
    return root / build.product.value / build.version


def ensure(
    version: KubeVersion,
    components: Iterable[Component] = LOCAL_CLUSTER_COMPONENTS,
    *,
    config: ToolchainConfig | None = None,
    progress: ProgressFn = no_progress,
) -> Toolchain:
    """Return verified paths for ``components`` of ``version``, building or fetching what is missing."""
    check_supported(version)
    config = config or ToolchainConfig.from_env()
    wanted = list(dict.fromkeys(components))
    by_product: dict[Product, list[Component]] = {}
    for component in wanted:
        by_product.setdefault(component.product, []).append(component)

    etcd_version = ""
    if Product.ETCD in by_product:
        etcd_version = etcd_version_for(version, config)
    versions = _product_versions(version, etcd_version)
    paths: dict[Component, Path] = {}
    if Product.KUBERNETES in by_product:
        # First, in one go build: kubeadm (which names the CoreDNS and pause versions below) is
        # then linked beside the other commands instead of compiled in a build of its own.
        build = ProductBuild(Product.KUBERNETES, versions[Product.KUBERNETES])
        paths.update(ensure_product(build, by_product.pop(Product.KUBERNETES), config=config, progress=progress))
    if Product.COREDNS in by_product or Product.PAUSE in by_product:
        images = kubeadm_image_versions(version, config, progress)
        versions[Product.COREDNS] = images["coredns"]
        versions[Product.PAUSE] = images["pause"]
    for product, members in by_product.items():
        paths.update(
            ensure_product(ProductBuild(product, versions[product]), members, config=config, progress=progress)
        )
    return Toolchain(version, etcd_version, KWOK_VERSION, paths)


def _product_versions(version: KubeVersion, etcd_version: str) -> dict[Product, str]:
    """Each product's version beside Kubernetes ``version`` (CoreDNS and pause: kubeadm's, added later)."""
    return {
        Product.KUBERNETES: str(version),
        Product.ETCD: etcd_version,
        Product.KWOK: KWOK_VERSION,
        Product.KWOKCTL: KWOKCTL_VERSION,
        Product.CONTAINERD: CONTAINERD_VERSION,
        Product.KIND: KIND_VERSION,
        Product.K3D: K3D_VERSION,
        Product.TRAEFIK: TRAEFIK_VERSION,
        Product.HELM: HELM_VERSION,
        Product.PLUTO: PLUTO_VERSION,
    }


def cached(
    version: KubeVersion,
    components: Iterable[Component] = LOCAL_CLUSTER_COMPONENTS,
    *,
    config: ToolchainConfig | None = None,
) -> bool:
    """Whether ``ensure`` would find every one of ``components`` present and verified already.

    Builds, fetches and looks up nothing, and takes no build lock: a build under way (its
    binaries not yet recorded) answers False at once. For work that is worth starting early only
    when it cannot turn into a long build (the dry-run's scratch cluster).
    """
    config = config or ToolchainConfig.from_env()
    kubernetes = product_dir(config.root, ProductBuild(Product.KUBERNETES, str(version)))
    extra = Manifest.load(kubernetes, Product.KUBERNETES.value, str(version)).extra
    versions = _product_versions(version, extra.get("etcd") or os.environ.get("SPIN_HARNESS_ETCD_VERSION", ""))
    if "kubeadm-images" in extra:
        images = dict(item.split("=", 1) for item in extra["kubeadm-images"].split(","))
        versions[Product.COREDNS], versions[Product.PAUSE] = images.get("coredns", ""), images.get("pause", "")
    for component in dict.fromkeys(components):
        product_version = versions.get(component.product, "")
        if not product_version:
            return False
        directory = product_dir(config.root, ProductBuild(component.product, product_version))
        manifest = Manifest.load(directory, component.product.value, product_version)
        try:
            if manifest.verified(directory, component.value, recipe=build_recipe(component.product)) is None:
                return False
        except OSError:  # removed while being read
            return False
    return True


def kubeadm_image_versions(
    version: KubeVersion, config: ToolchainConfig, progress: ProgressFn = no_progress
) -> dict[str, str]:
    """The image tags kubeadm ``version`` deploys (``coredns``, ``pause``, ``etcd``...), from kubeadm itself.

    Asking the built kubeadm (``kubeadm config images list``) keeps a node image's CoreDNS,
    pause and etcd exactly what ``kubeadm init`` and ``kubeadm upgrade`` will look for.
    Remembered in the Kubernetes manifest.
    """
    directory = product_dir(config.root, ProductBuild(Product.KUBERNETES, str(version)))
    manifest = Manifest.load(directory, Product.KUBERNETES.value, str(version))
    if "kubeadm-images" in manifest.extra:
        return dict(item.split("=", 1) for item in manifest.extra["kubeadm-images"].split(","))
    kubeadm = ensure_product(
        ProductBuild(Product.KUBERNETES, str(version)), [Component.KUBEADM], config=config, progress=progress
    )[Component.KUBEADM]
    proc = subprocess.run(
        [str(kubeadm), "config", "images", "list", f"--kubernetes-version={version}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise ToolchainError(f"kubeadm {version} could not list its images: {proc.stderr.strip()[-300:]}")
    tags: dict[str, str] = {}
    for reference in proc.stdout.split():
        name, _, tag = reference.rpartition(":")
        tags[name.rsplit("/", 1)[-1]] = tag
    missing = [name for name in ("coredns", "pause", "etcd") if name not in tags]
    if missing:
        raise ToolchainError(f"kubeadm {version} lists no {', '.join(missing)} image in: {proc.stdout.strip()}")
    tags["coredns"] = "v" + tags["coredns"].removeprefix("v")
    with FileLock(str(directory) + ".lock"):
        manifest = Manifest.load(directory, Product.KUBERNETES.value, str(version))
        manifest.extra["kubeadm-images"] = ",".join(f"{k}={v}" for k, v in sorted(tags.items()))
        manifest.save(directory)
    return tags


def etcd_version_for(version: KubeVersion, config: ToolchainConfig) -> str:
    """etcd's version for ``version``, remembered in the Kubernetes manifest once looked up."""
    directory = product_dir(config.root, ProductBuild(Product.KUBERNETES, str(version)))
    manifest = Manifest.load(directory, Product.KUBERNETES.value, str(version))
    if "etcd" in manifest.extra:
        return manifest.extra["etcd"]
    override = os.environ.get("SPIN_HARNESS_ETCD_VERSION")
    etcd = override or goproxy.etcd_version_for(version)
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(str(directory) + ".lock"):
        manifest = Manifest.load(directory, Product.KUBERNETES.value, str(version))
        manifest.extra["etcd"] = etcd
        manifest.save(directory)
    return etcd


def ensure_product(
    build: ProductBuild,
    components: Sequence[Component],
    *,
    config: ToolchainConfig | None = None,
    progress: ProgressFn = no_progress,
) -> dict[Component, Path]:
    """Verified paths for ``components`` of one product build, providing what is missing under its lock."""
    config = config or ToolchainConfig.from_env()
    directory = product_dir(config.root, build)
    directory.mkdir(parents=True, exist_ok=True)
    with _build_lock(directory, build, progress):
        manifest = Manifest.load(directory, build.product.value, build.version)
        recipe = build_recipe(build.product)
        found = {c: manifest.verified(directory, c.value, recipe=recipe) for c in components}
        missing = [c for c, path in found.items() if path is None]
        if missing:
            _provide(build, missing, directory, manifest, config, progress, recipe=recipe)
        return {c: directory / c.value for c in components}


@contextmanager
def _build_lock(directory: Path, build: ProductBuild, progress: ProgressFn) -> Iterator[None]:
    """The product build's lock; when another process holds it (building), say so, then wait."""
    lock = FileLock(str(directory) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        progress(f"waiting for another process's build of {build.product.value} {build.version} ({lock.lock_file})")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _provide(
    build: ProductBuild,
    missing: Sequence[Component],
    directory: Path,
    manifest: Manifest,
    config: ToolchainConfig,
    progress: ProgressFn,
    *,
    recipe: str = "",
) -> None:
    reasons: list[str] = []
    for source in config.build_sources():
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=directory))
        try:
            started = time.monotonic()
            source.provide(build, missing, staging, progress)
            elapsed = time.monotonic() - started
            for component in missing:
                produced = staging / component.value
                if not produced.is_file():
                    raise SourceUnavailable(f"{source.name}: produced no {component.value}")
                produced.chmod(0o755)
                check_reported_version(produced, component, build.version)
            for component in missing:
                os.replace(staging / component.value, directory / component.value)
                manifest.record(directory, component.value, source.name, elapsed, recipe=recipe)
            manifest.save(directory)
            progress(f"{build.key}: {', '.join(c.value for c in missing)} ready ({source.name}, {elapsed:.0f}s)")
            return
        except SourceUnavailable as exc:
            reasons.append(str(exc))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    detail = "\n  ".join(reasons) or "no source is configured"
    names = ", ".join(c.value for c in missing)
    raise ToolchainError(
        f"cannot provide {names} for {build.product.value} {build.version}:\n  {detail}",
        hint="check SPIN_HARNESS_TOOLCHAIN_SOURCES, access to the module proxy, or SPIN_HARNESS_BIN_DIR",
    )


_VERSION_ARGS = {
    Component.KUBECTL: ["version", "--client"],
    Component.KUBEADM: ["version", "-o", "short"],
    Component.CONTAINERD_SHIM: ["-v"],
    Component.COREDNS: ["-version"],
    Component.PAUSE: ["-v"],
    Component.KIND: ["version"],
    Component.K3D: ["version"],
    Component.TRAEFIK: ["version"],
    Component.HELM: ["version"],
    Component.PLUTO: ["version"],
}


def check_reported_version(binary: Path, component: Component, version: str) -> None:
    """Refuse a binary whose ``--version`` does not name the version it was provided for."""
    args = _VERSION_ARGS.get(component, ["--version"])
    try:
        proc = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        raise SourceUnavailable(f"{binary.name} does not run: {exc}") from exc
    text = proc.stdout + proc.stderr
    if version.removeprefix("v") not in text:
        first = text.strip().splitlines()[0] if text.strip() else "(nothing)"
        raise SourceUnavailable(f"{binary.name} reports {first!r}, expected {version}")
