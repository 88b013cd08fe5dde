"""``images build --provider kind``: a kind node image for one Kubernetes version, built offline.

kind runs each node as a container of a *node image* and expects of it what its own images
have (the node contract): systemd as PID 1 behind an entrypoint, containerd, the kubelet,
kubeadm and kubectl, ``/kind/version``, ``/kind/manifests/default-{cni,storage}.yaml``, and
every image kubeadm deploys already in containerd's store, since kind never pulls them.

Everything is made here from what this machine can reach: a Debian root (debootstrap), the
toolchain's binaries (Go modules), single-binary images for the control plane, etcd, CoreDNS
and pause, kube-proxy on the Debian root (it calls iptables), and a busybox tenant image for
workloads. The component images are imported into containerd's content store in a build
container (``ctr images import --no-unpack``), and the container's filesystem becomes the
node image. The tag carries a hash of every input, so a change to any of them builds anew
and an unchanged build is found in the engine and reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jinja2
from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException

from harness.errors import ImageError
from harness.images import engine, layers, rootfs
from harness.progress import ProgressFn, no_progress, phase
from harness.toolchain import ToolchainConfig
from harness.toolchain.components import KIND_NODE_IMAGE_COMPONENTS, Component, Product, ProductBuild
from harness.toolchain.ensure import ensure, ensure_product, kubeadm_image_versions
from harness.toolchain.manifest import sha256_file
from harness.versions import KubeVersion

FILES = Path(__file__).with_name("kind_node") / "files"
NODE_REPOSITORY = "spin-harness/kind-node"
ROOT_REPOSITORY = "spin-harness/debian-root"
#: Where scenarios find the tenant workload image on kind nodes (preloaded, never pulled).
TENANT_REPOSITORY = "spin-harness.local/tenant-base"
#: Bumped when the assembly below changes in a way the inputs' hashes cannot see.
_FORMAT = "3"

_CONTROL_PLANE = (Component.KUBE_APISERVER, Component.KUBE_CONTROLLER_MANAGER, Component.KUBE_SCHEDULER)
#: What goes into the images of kubeadm's static pods, which run on the control-plane node only.
_STATIC_POD_IMAGES = frozenset(c.value for c in (*_CONTROL_PLANE, Component.ETCD))
_CONTAINERD = (Component.CONTAINERD, Component.CONTAINERD_SHIM, Component.CTR)


@dataclass(frozen=True)
class NodeImage:
    """A built (or found) node image and what is preloaded in it."""

    reference: str
    version: KubeVersion
    preloaded: tuple[str, ...]
    tenant_image: str
    seconds: float = 0.0
    built: bool = False
    #: Of ``preloaded``, the images only the control-plane node runs (its static pods).
    control_plane_only: tuple[str, ...] = ()

    def images_for(self, *, control_plane: bool) -> tuple[str, ...]:
        """What a node of this role runs of ``preloaded``: a worker runs no static pods."""
        if control_plane:
            return self.preloaded
        return tuple(ref for ref in self.preloaded if ref not in self.control_plane_only)


def tenant_image_reference(root_key: str) -> str:
    return f"{TENANT_REPOSITORY}:{root_key.rsplit('-', 1)[-1]}"


#: A node image to use instead of building one, e.g. ``kindest/node:{version}`` where the machine
#: can pull kind's own images (``{version}`` becomes the cluster's version).
NODE_IMAGE_ENV = "SPIN_HARNESS_KIND_NODE_IMAGE"


def node_image_override(version: KubeVersion) -> str | None:
    raw = os.environ.get(NODE_IMAGE_ENV, "").strip()
    return raw.replace("{version}", str(version)) if raw else None


def ensure_given_image(reference: str, progress: ProgressFn = no_progress) -> str:
    """``reference`` in the local engine: found, or pulled; an ImageError saying which otherwise."""
    docker = engine.require_engine()
    if engine.image_present(reference):
        return reference
    try:
        with phase(progress, f"docker pull {reference}"):
            docker.image.pull(reference, quiet=True)
    except DockerException as exc:
        detail = (exc.stderr or str(exc)).strip().splitlines()[-1:]
        raise ImageError(
            f"{NODE_IMAGE_ENV}: {reference} is not in the Docker engine and cannot be pulled ({' '.join(detail)})",
            hint=f"load it (docker load -i ...), or unset {NODE_IMAGE_ENV} to build a node image offline",
        ) from None
    return reference


def ensure_tenant_image(progress: ProgressFn = no_progress) -> str:
    """The busybox tenant image in the local engine (for clusters of a node image not built here)."""
    docker = engine.require_engine()
    root_spec = rootfs.node_root()
    tenant = tenant_image_reference(root_spec.key)
    if not engine.image_present(tenant):
        root_tar = rootfs.ensure_root(root_spec, progress=progress)
        with tempfile.TemporaryDirectory(prefix="tenant-image-", dir=layers.work_root()) as scratch:
            _build_tenant_image(docker, Path(scratch), root_tar, tenant, progress)
    return tenant


def build_node_image(
    version: KubeVersion,
    *,
    config: ToolchainConfig | None = None,
    progress: ProgressFn = no_progress,
    rebuild: bool = False,
) -> NodeImage:
    """The node image for ``version``: found by its input hash, or built now."""
    docker = engine.require_engine()
    started = time.monotonic()
    config = config or ToolchainConfig.from_env()
    tools = ensure(version, KIND_NODE_IMAGE_COMPONENTS, config=config, progress=progress)
    tags = kubeadm_image_versions(version, config, progress)
    etcd_version = "v" + tags["etcd"].split("-")[0]
    etcd = ensure_product(ProductBuild(Product.ETCD, etcd_version), [Component.ETCD], config=config, progress=progress)[
        Component.ETCD
    ]
    binaries = {**tools.paths, Component.ETCD: etcd}
    root_spec = rootfs.node_root()
    root_tar = rootfs.ensure_root(root_spec, progress=progress)

    images = _component_images(version, tags)
    tenant = tenant_image_reference(root_spec.key)
    digest = _input_hash(version, binaries, root_spec.key, images)
    reference = f"{NODE_REPOSITORY}:{version}-{digest[:12]}"
    preloaded = (*images, tenant)
    static_pods = static_pod_images(images)
    if not rebuild and engine.image_present(reference):
        progress(f"node image {reference} is already built")
        seconds = time.monotonic() - started
        return NodeImage(reference, version, preloaded, tenant, seconds, control_plane_only=static_pods)

    work = Path(tempfile.mkdtemp(prefix="node-image-", dir=layers.work_root()))
    try:
        root_image = _ensure_root_image(docker, root_tar, root_spec.key, progress)
        archive = _build_component_images(docker, work, images, binaries, root_tar, tenant, progress)
        with phase(progress, "staging the node's files"):
            staging = _stage_node_files(work / "node", version, binaries, tags)
        _assemble(docker, root_image, staging, archive, preloaded, reference, progress)
        docker.image.tag(reference, f"{NODE_REPOSITORY}:{version}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.monotonic() - started
    progress(f"node image {reference} built in {seconds:.0f}s")
    return NodeImage(reference, version, preloaded, tenant, seconds, built=True, control_plane_only=static_pods)


def _component_images(version: KubeVersion, tags: dict[str, str]) -> dict[str, str]:
    """Image reference -> what goes into it, with the names kubeadm's manifests use."""
    registry = "registry.k8s.io"
    images = {f"{registry}/{c.value}:{version}": c.value for c in (*_CONTROL_PLANE, Component.KUBE_PROXY)}
    images[f"{registry}/etcd:{tags['etcd']}"] = "etcd"
    images[f"{registry}/coredns/coredns:{tags['coredns']}"] = "coredns"
    images[f"{registry}/pause:{tags['pause']}"] = "pause"
    return images


def _input_hash(version: KubeVersion, binaries: dict[Component, Path], root_key: str, images: dict[str, str]) -> str:
    digest = hashlib.sha256(f"{_FORMAT}\n{version}\n{root_key}\n".encode())
    for component in sorted(binaries, key=lambda c: c.value):
        digest.update(f"{component.value}={_recorded_sha256(binaries[component])}\n".encode())
    for reference in sorted(images):
        digest.update(f"{reference}\n".encode())
    for path in sorted(p for p in FILES.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(FILES)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def static_pod_images(images: dict[str, str]) -> tuple[str, ...]:
    """Of ``images`` (reference -> what goes into it), those only the control-plane node runs."""
    return tuple(ref for ref, what in images.items() if what in _STATIC_POD_IMAGES)


def _recorded_sha256(binary: Path) -> str:
    """The checksum the toolchain manifest recorded (ensure just verified it), without rehashing."""
    try:
        manifest = json.loads((binary.parent / "manifest.json").read_text())
        return str(manifest["components"][binary.name]["sha256"])
    except (OSError, ValueError, KeyError):
        return sha256_file(binary)


def _ensure_root_image(docker: DockerClient, root_tar: Path, key: str, progress: ProgressFn) -> str:
    reference = f"{ROOT_REPOSITORY}:{key.rsplit('-', 1)[-1]}"
    if not engine.image_present(reference):
        with phase(progress, f"docker import {root_tar.name} as {reference}"):
            docker.image.import_(root_tar, tag=reference, changes=[f"LABEL {engine.OWNER_LABEL}=images"])
    return reference


def _build_component_images(
    docker: DockerClient,
    work: Path,
    images: dict[str, str],
    binaries: dict[Component, Path],
    root_tar: Path,
    tenant: str,
    progress: ProgressFn,
) -> Path:
    """Import each component image into the engine and save them all to one archive for containerd."""
    path_env = "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
    for number, (reference, name) in enumerate(images.items(), start=1):
        binary = binaries[Component(name)]
        with phase(progress, f"image {number}/{len(images)} {reference}"):
            if name == "kube-proxy":
                tar = layers.write_binary_root(work / f"{name}.tar", {f"/usr/local/bin/{name}": binary}, base=root_tar)
                changes = [path_env]
            elif name in ("coredns", "pause"):
                tar = layers.write_binary_root(work / f"{name}.tar", {f"/{name}": binary})
                changes = [f'ENTRYPOINT ["/{name}"]', path_env]
            else:
                tar = layers.write_binary_root(work / f"{name}.tar", {f"/usr/local/bin/{name}": binary})
                changes = [path_env]
            docker.image.import_(tar, tag=reference, changes=[*changes, f"LABEL {engine.OWNER_LABEL}=images"])
            tar.unlink()
    _build_tenant_image(docker, work, root_tar, tenant, progress)
    archive = work / "images.tar"
    with phase(progress, f"docker save {len(images) + 1} images for containerd"):
        docker.image.save([*images, tenant], output=archive)
    return archive


def _build_tenant_image(docker: DockerClient, work: Path, root_tar: Path, tenant: str, progress: ProgressFn) -> None:
    """busybox (Debian's static build) with its applets: what tenant workloads run (sh, httpd, cat...)."""
    if engine.image_present(tenant):
        return
    with phase(progress, f"image {tenant} (busybox)"):
        busybox = layers.extract_member(root_tar, "./usr/bin/busybox", work / "busybox")
        applets = _busybox_applets(busybox)
        links = [(f"/bin/{name}", "busybox") for name in applets if name != "busybox"]
        files = {
            "/etc/passwd": b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
            "/etc/group": b"root:x:0:\nnogroup:x:65534:\n",
        }
        tar = layers.write_binary_root(work / "tenant.tar", {"/bin/busybox": busybox}, symlinks=links, files=files)
        docker.image.import_(
            tar, tag=tenant, changes=["ENV PATH=/bin", 'CMD ["sh"]', f"LABEL {engine.OWNER_LABEL}=images"]
        )


def _busybox_applets(busybox: Path) -> list[str]:
    proc = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=False, timeout=30)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise ImageError(f"{busybox} --list failed: {proc.stderr.strip()}")
    return sorted(set(proc.stdout.split()))


def _stage_node_files(
    staging: Path, version: KubeVersion, binaries: dict[Component, Path], tags: dict[str, str]
) -> Path:
    """The files the node image adds to the Debian root, laid out as in the image."""
    shutil.copytree(FILES, staging, ignore=shutil.ignore_patterns("*.j2"))
    template = jinja2.Template((FILES / "etc/containerd/config.toml.j2").read_text(), undefined=jinja2.StrictUndefined)
    (staging / "etc/containerd/config.toml").write_text(
        template.render(sandbox_image=f"registry.k8s.io/pause:{tags['pause']}")
    )
    (staging / "kind/version").write_text(str(version))
    bin_dir = staging / "usr/bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for component in (Component.KUBELET, Component.KUBEADM, Component.KUBECTL):
        shutil.copy2(binaries[component], bin_dir / component.value)
    local_bin = staging / "usr/local/bin"
    for component in _CONTAINERD:
        shutil.copy2(binaries[component], local_bin / component.value)
    (staging / "etc/kubernetes/manifests").mkdir(parents=True, exist_ok=True)
    (staging / "etc/cni/net.d").mkdir(parents=True, exist_ok=True)
    return staging


def _assemble(
    docker: DockerClient,
    root_image: str,
    staging: Path,
    archive: Path,
    preloaded: Iterable[str],
    reference: str,
    progress: ProgressFn,
) -> None:
    name = f"spin-harness-node-build-{secrets.token_hex(4)}"
    export = archive.with_name("node.tar")
    container = docker.container.run(
        root_image,
        ["infinity"],
        entrypoint="sleep",
        name=name,
        detach=True,
        labels={engine.OWNER_LABEL: f"build-{os.getpid()}"},
        security_options=["seccomp=unconfined"],
    )
    try:
        with phase(progress, f"assembling {reference} in build container {name} (preloading images)"):
            docker.container.copy(f"{staging}/.", (container, "/"))
            docker.container.copy(archive, (container, "/kind/images.tar"))
            script = _ASSEMBLY_SCRIPT.format(images=" ".join(sorted(preloaded)))
            try:
                docker.container.execute(container, ["bash", "-euo", "pipefail", "-c", script])
            except DockerException as exc:
                raise ImageError(f"assembling {reference} failed:\n{(exc.stderr or '').strip()[-1500:]}") from exc
        with phase(progress, "docker export of the node filesystem"):
            docker.container.export(container, export)
    finally:
        docker.container.remove(container, force=True, volumes=True)
    archive.unlink(missing_ok=True)
    with phase(progress, f"docker import of {reference}"):
        docker.image.import_(
            export,
            tag=reference,
            changes=[
                'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
                "ENV container=docker",
                # No STOPSIGNAL: docker import refuses it before Docker 23; kind removes nodes with
                # `docker rm -f`, never `docker stop`, so systemd's SIGRTMIN+3 is never needed.
                f"LABEL {engine.OWNER_LABEL}=images",
            ],
        )
    export.unlink(missing_ok=True)


#: Runs in the build container: wire the root up for kind, then preload the images into containerd.
_ASSEMBLY_SCRIPT = r"""
chmod 0755 /usr/local/bin/* /usr/bin/kubelet /usr/bin/kubeadm /usr/bin/kubectl
mkdir -p /opt/cni/bin /var/lib/kubelet /etc/kubernetes/manifests
for plugin in /usr/lib/cni/*; do ln -sf "$plugin" /opt/cni/bin/; done
test -x /sbin/init || ln -sf /lib/systemd/systemd /sbin/init
# systemd in a container: no udev, no getty, nothing that waits for hardware.
find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
      /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
      /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
echo ReadKMsg=no >> /etc/systemd/journald.conf
systemctl enable containerd.service kubelet.service >/dev/null 2>&1
systemctl mask systemd-binfmt.service getty.target console-getty.service >/dev/null 2>&1
# Preload: containerd's content store only (no unpack: overlay on overlay fails here).
nohup containerd >/tmp/containerd.log 2>&1 &
for i in $(seq 1 50); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.2; done
ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests \
    --label=io.cri-containerd.pinned=pinned /kind/images.tar >/dev/null
listed=$(ctr --namespace=k8s.io images ls -q)
for image in {images}; do
  echo "$listed" | grep -qx "$image" || {{ echo "not preloaded: $image" >&2; exit 1; }}
done
pkill containerd
for i in $(seq 1 50); do pgrep -x containerd >/dev/null || break; sleep 0.2; done
rm -f /kind/images.tar /tmp/containerd.log
rm -rf /run/containerd
"""
