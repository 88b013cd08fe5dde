"""The k3d provider: k3s clusters in Docker, through the k3d CLI (``github.com/k3d-io/k3d/v5``).

k3d needs a ``rancher/k3s`` image per Kubernetes version. Unlike a kind node image, one
cannot be made offline: k3s is built from its own fork of Kubernetes, and the Go module
proxy lists no version of ``github.com/k3s-io/k3s`` (its tags, ``v1.36.3+k3s1``, carry
semver build metadata, which the go command drops: ``@v1.36.3+k3s1`` is asked for as
``v1.36.3`` and refused); its build also needs CGO for the sqlite datastore and the
k3s-root bundle (busybox, containerd, CNI plugins) from GitHub releases. So this provider
runs where an image is present in the engine (``docker load``) or may be pulled
(``SPIN_HARNESS_K3D_PULL=1``), and says exactly that where neither holds.

Upgrades replace each server and agent container with one of the newer image that takes
over the old container's volumes (``/var/lib/rancher/k3s`` holds the datastore), its
network, environment and labels: the k3s way of an in-place upgrade.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from python_on_whales.exceptions import DockerException

from harness.errors import ClusterError, InputError, VersionError
from harness.images import engine
from harness.paths import state_root
from harness.providers.base import Cluster, ProviderCapabilities
from harness.providers.local import ports
from harness.providers.local.state import Owner, validate_name
from harness.toolchain import ToolchainConfig
from harness.toolchain.components import K3D_VERSION, Component, Product, ProductBuild
from harness.toolchain.ensure import ensure_product
from harness.toolchain.sources import ProgressFn, no_progress
from harness.versions import KubeVersion, upgrade_refusal

K3S_REPOSITORY = "rancher/k3s"

WHY_NO_OFFLINE_IMAGE = (
    "spin-harness cannot build a rancher/k3s image offline: k3s is built from the k3s-io fork of "
    "Kubernetes, the Go module proxy lists no version of github.com/k3s-io/k3s (tags like v1.36.3+k3s1 "
    "carry build metadata the go command drops, so they are refused), and its build needs CGO (sqlite) "
    "and the k3s-root binaries from GitHub releases"
)


def k3s_image(version: KubeVersion, revision: int = 1) -> str:
    return f"{K3S_REPOSITORY}:{version}-k3s{revision}"


def pulls_allowed() -> bool:
    return os.environ.get("SPIN_HARNESS_K3D_PULL", "") not in ("", "0")


@dataclass
class K3dState:
    name: str
    directory: Path
    version: str
    nodes: int
    api_port: int
    owner: Owner | None = None
    phase: str = "creating"
    history: list[str] = field(default_factory=list)

    def save(self) -> None:
        raw = {k: v for k, v in asdict(self).items() if k not in ("directory", "owner")}
        raw["provider"] = "k3d"
        raw["owner"] = None if self.owner is None else self.owner.to_json()
        (self.directory / "cluster.json").write_text(json.dumps(raw, indent=2))

    @classmethod
    def load(cls, directory: Path) -> K3dState:
        try:
            raw = json.loads((directory / "cluster.json").read_text())
            return cls(
                raw["name"],
                directory,
                raw["version"],
                int(raw["nodes"]),
                int(raw["api_port"]),
                Owner.from_json(raw.get("owner")),
                raw.get("phase", "unknown"),
                list(raw.get("history", [])),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ClusterError(f"no readable k3d cluster state in {directory}: {exc}") from None


class K3dProvider:
    """k3d clusters of ``rancher/k3s`` images that are present (or may be pulled)."""

    name = "k3d"
    capabilities = ProviderCapabilities(
        real_containers=True,
        ingress_data_path=False,
        in_place_upgrade=True,
        loopback_webhooks=False,
        audit_log=False,
    )

    def __init__(self, *, toolchain: ToolchainConfig | None = None, progress: ProgressFn = no_progress) -> None:
        self.toolchain = toolchain
        self.progress = progress

    def available(self) -> str | None:
        reason = engine.engine_unavailable_reason()
        if reason:
            return reason
        if pulls_allowed():
            return None
        with contextlib.suppress(DockerException):
            if engine.docker_client().image.list(repository_or_tag=K3S_REPOSITORY):
                return None
        return (
            f"no {K3S_REPOSITORY} image is in the Docker engine and pulling is off "
            f"(SPIN_HARNESS_K3D_PULL=1 allows it); {WHY_NO_OFFLINE_IMAGE}"
        )

    def image_for(self, version: KubeVersion) -> str:
        """The k3s image of ``version``: present, or pulled when pulls are allowed; else why not."""
        reference = k3s_image(version)
        if engine.image_present(reference):
            return reference
        if pulls_allowed():
            try:
                engine.docker_client().image.pull(reference, quiet=True)
                return reference
            except DockerException as exc:
                raise ClusterError(f"cannot pull {reference}: {(exc.stderr or '').strip()[-300:]}") from None
        raise ClusterError(f"{reference} is not in the Docker engine", hint=WHY_NO_OFFLINE_IMAGE)

    def create(
        self, name: str, version: KubeVersion, nodes: int = 1, *, keep: bool = False, api_port: int | None = None
    ) -> Cluster:
        validate_name(name)
        reason = self.available()
        if reason:
            raise ClusterError(f"k3d provider unavailable: {reason}")
        image = self.image_for(version)
        k3d = self._k3d_cli()
        directory = self._dir(name)
        if directory.exists():
            raise InputError(f"a k3d cluster named {name!r} already exists ({directory})")
        directory.mkdir(parents=True, mode=0o700)
        try:
            with ports.reservation_lock():
                port = api_port or ports.pick_free_ports(1, [])[0]
            st = K3dState(name, directory, str(version), nodes, port, None if keep else Owner.current())
            st.save()
            self._run(
                [
                    str(k3d), "cluster", "create", name, "--image", image, "--servers", "1",
                    "--agents", str(nodes - 1), "--api-port", f"127.0.0.1:{port}",
                    "--kubeconfig-update-default=false", "--kubeconfig-switch-context=false",
                    "--wait", "--timeout", "300s",
                ],
                timeout=420,
            )  # fmt: skip
            kubeconfig = directory / "kubeconfig"
            kubeconfig.write_text(self._run([str(k3d), "kubeconfig", "get", name], timeout=60))
            kubeconfig.chmod(0o600)
            st.phase = "ready"
            st.history.append(str(version))
            st.save()
        except BaseException:
            self._remove(name, directory)
            raise
        return self._cluster(st)

    def upgrade(self, cluster: Cluster, to_version: KubeVersion, *, force: bool = False) -> Cluster:
        st = K3dState.load(cluster.state_dir)
        refusal = upgrade_refusal(KubeVersion.parse(st.version), to_version)
        if refusal and not force:
            raise VersionError(f"upgrade refused: {refusal}", hint="pass --force to override the skew policy")
        image = self.image_for(to_version)
        docker = engine.docker_client()
        containers = docker.container.list(all=True, filters=[("label", f"k3d.cluster={st.name}")])
        # Servers first, then agents, as k3s's upgrade documentation orders them; the load balancer stays.
        order = sorted(
            (c for c in containers if c.config.labels and c.config.labels.get("k3d.role") in ("server", "agent")),
            key=lambda c: ((c.config.labels or {}).get("k3d.role") != "server", c.name),
        )
        for old in order:
            self.progress(f"replacing {old.name} with {image}")
            new_name = f"{old.name}-{to_version}".replace(".", "-")
            replacement = docker.container.create(
                image,
                old.config.cmd or [],
                name=new_name,
                volumes_from=[old.id],
                envs=dict(item.split("=", 1) for item in (old.config.env or []) if "=" in item),
                labels=old.config.labels or {},
                privileged=True,
                hostname=old.config.hostname,
                networks=list((old.network_settings.networks or {}).keys()),
                tmpfs=["/run", "/var/run"],
            )
            docker.container.stop(old)
            docker.container.rename(old, f"{old.name}-replaced")
            docker.container.rename(replacement, old.name)
            docker.container.start(replacement)
            docker.container.remove(old, force=True)
        st.version, st.phase = str(to_version), "ready"
        st.history.append(str(to_version))
        st.save()
        return self._cluster(st)

    def delete(self, cluster: Cluster) -> None:
        self._remove(cluster.name, cluster.state_dir)

    def kubeconfig(self, cluster: Cluster) -> Path:
        return cluster.kubeconfig

    def get(self, name: str) -> Cluster:
        validate_name(name)
        return self._cluster(K3dState.load(self._dir(name)))

    def clusters(self) -> list[Cluster]:
        root = state_root() / "k3d"
        out = []
        for directory in sorted(root.iterdir()) if root.is_dir() else []:
            with contextlib.suppress(ClusterError):
                out.append(self._cluster(K3dState.load(directory)))
        return out

    def status(self, cluster: Cluster) -> dict[str, bool]:
        containers = engine.docker_client().container.list(all=True, filters=[("label", f"k3d.cluster={cluster.name}")])
        return {c.name: bool(c.state.running) for c in containers}

    def scenario_defaults(self, cluster: Cluster | None = None) -> dict[str, str]:
        return {}

    def service_host(self) -> str:
        raise ClusterError("host services for k3d clusters are not supported", hint=WHY_NO_OFFLINE_IMAGE)

    # -- internals --------------------------------------------------------------------

    def _dir(self, name: str) -> Path:
        return state_root() / "k3d" / name

    def _k3d_cli(self) -> Path:
        build = ProductBuild(Product.K3D, K3D_VERSION)
        return ensure_product(build, [Component.K3D], config=self.toolchain, progress=self.progress)[Component.K3D]

    def _run(self, command: list[str], *, timeout: float) -> str:
        started = time.monotonic()
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-12:])
            raise ClusterError(f"{' '.join(command[1:3])} failed after {time.monotonic() - started:.0f}s:\n{tail}")
        return proc.stdout

    def _remove(self, name: str, directory: Path) -> None:
        with contextlib.suppress(Exception):
            self._run([str(self._k3d_cli()), "cluster", "delete", name], timeout=120)
        shutil.rmtree(directory, ignore_errors=True)

    def _cluster(self, st: K3dState) -> Cluster:
        return Cluster(
            name=st.name,
            provider=self.name,
            version=KubeVersion.parse(st.version),
            kubeconfig=st.directory / "kubeconfig",
            state_dir=st.directory,
            nodes=st.nodes,
        )
