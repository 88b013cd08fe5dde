"""The k3d provider: k3s clusters in Docker, through the k3d CLI (``github.com/k3d-io/k3d/v5``).

k3d needs a ``rancher/k3s`` image per Kubernetes version. Unlike a kind node image, one
cannot be made offline: k3s is built from its own fork of Kubernetes, and the Go module
proxy lists no version of ``github.com/k3s-io/k3s`` (its tags, ``v1.36.3+k3s1``, carry
semver build metadata, which the go command drops: ``@v1.36.3+k3s1`` is asked for as
``v1.36.3`` and refused); its build also needs CGO for the sqlite datastore and the
k3s-root bundle (busybox, containerd, CNI plugins) from GitHub releases. So this provider
runs where an image is present in the engine (``docker load``) or may be pulled
(``SPIN_HARNESS_K3D_PULL=1``), and says exactly that where neither holds. Everything else it
needs can be present without pulls too (``images``). Upgrades replace the node containers
(``upgrade``).
"""

from __future__ import annotations

import builtins
import contextlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ClusterError, InputError, VersionError
from harness.images import engine
from harness.providers.base import Cluster, ClusterRow, Garbage, ProviderCapabilities, UpgradeAction
from harness.providers.common import ports
from harness.providers.common.owner import Owner, validate_name
from harness.providers.common.recorded import RecordedClusters, record_row, recorded_garbage, recorded_garbage_reason
from harness.providers.common.upgrade_plan import execute_plan
from harness.providers.k3d import system_images, upgrade
from harness.providers.k3d.commands import K3dNode, Runner, create_command, default_runner, parse_nodes
from harness.providers.k3d.images import K3S_REPOSITORY, K3dImages, k3s_image, pulls_allowed
from harness.providers.k3d.state import K3dState, all_states, cluster_dir
from harness.toolchain.components import K3D_VERSION, Component, Product, ProductBuild
from harness.toolchain.sources import ProgressFn, no_progress
from harness.versions import KubeVersion, upgrade_refusal

if TYPE_CHECKING:
    from harness.toolchain import ToolchainConfig

WHY_NO_OFFLINE_IMAGE = (
    "spin-harness cannot build a rancher/k3s image offline: k3s is built from the k3s-io fork of "
    "Kubernetes, the Go module proxy lists no version of github.com/k3s-io/k3s (tags like v1.36.3+k3s1 "
    "carry build metadata the go command drops, so they are refused), and its build needs CGO (sqlite) "
    "and the k3s-root binaries from GitHub releases"
)


class K3dProvider(RecordedClusters[K3dState]):
    """k3d clusters of ``rancher/k3s`` images that are present (or may be pulled)."""

    name = "k3d"
    capabilities = ProviderCapabilities(
        real_containers=True,
        ingress_data_path=False,
        in_place_upgrade=True,
        loopback_webhooks=False,
        audit_log=False,
    )

    def __init__(
        self,
        *,
        toolchain: ToolchainConfig | None = None,
        progress: ProgressFn = no_progress,
        tools_image: str | None = None,
        loadbalancer_image: str | None = None,
        no_lb: bool | None = None,
        k3d: str | None = None,
        runner: Runner = default_runner,
    ) -> None:
        """Images not given here come from ``SPIN_HARNESS_K3D_*`` (see ``images``); ``k3d``: a k3d
        executable instead of the toolchain's; ``runner`` runs every k3d and docker command."""
        self.toolchain = toolchain
        self.progress = progress
        self.image_options = {"tools": tools_image, "loadbalancer": loadbalancer_image, "no_lb": no_lb}
        self.k3d = k3d
        self.run = runner

    def images(self) -> K3dImages:
        return K3dImages.resolve(**self.image_options)  # type: ignore[arg-type]

    def available(self) -> str | None:
        reason = engine.engine_unavailable_reason()
        if reason:
            return reason
        missing = self.images().missing()
        if not missing:
            return None
        text = "the Docker engine lacks what k3d clusters need and pulling is off (SPIN_HARNESS_K3D_PULL=1 allows it): "
        text += ", ".join(missing)
        if any(K3S_REPOSITORY in m for m in missing):
            text += f"; with no {K3S_REPOSITORY} image: {WHY_NO_OFFLINE_IMAGE}"
        return text

    def image_for(self, version: KubeVersion) -> str:
        """The k3s image of ``version``: present, or pulled when pulls are allowed; else why not."""
        reference = k3s_image(version)
        if engine.image_present(reference):
            return reference
        if pulls_allowed():
            from python_on_whales.exceptions import DockerException

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
        if api_port is not None:
            ports.require_free(api_port, "--api-port")
        reason = self.available()
        if reason:
            raise ClusterError(f"k3d provider unavailable: {reason}")
        image = self.image_for(version)
        images = self.images()
        k3d = self._k3d_cli()
        directory = cluster_dir(name)
        if directory.exists():
            raise InputError(f"a k3d cluster named {name!r} already exists ({directory})")
        directory.mkdir(parents=True, mode=0o700)
        try:
            with ports.reservation_lock():
                taken = ports.recorded_ports()
                if api_port is not None and api_port in taken:
                    raise InputError(f"--api-port: port {api_port} is reserved by another spin-harness cluster")
                port = api_port or ports.pick_free_ports(1, taken)[0]
                owner = None if keep else Owner.current()
                st = K3dState(name, directory, str(version), nodes, port, owner, no_lb=images.loadbalancer is None)
                st.save()
            self.progress(f"k3d cluster create {name}...")
            self.run(create_command(k3d, st, image, images), timeout=420, env=images.k3d_env())
            st.kubeconfig.write_text(self.run([k3d, "kubeconfig", "get", name], timeout=60))
            st.kubeconfig.chmod(0o600)
            self.progress("k3s system images into nodes...")
            system_images.preload(self.run, k3d, name, images)
            st.phase = "ready"
            st.history.append(str(version))
            st.save()
        except BaseException:
            self._remove(name, directory)
            raise
        return self._cluster(st)

    def upgrade(self, cluster: Cluster, to_version: KubeVersion, *, force: bool = False) -> Cluster:
        return execute_plan(self, cluster, to_version, force=force, progress=self.progress)

    def upgrade_plan(self, cluster: Cluster, to_version: KubeVersion) -> builtins.list[UpgradeAction]:
        return upgrade.upgrade_plan(self.nodes(cluster))

    def upgrade_action(
        self, cluster: Cluster, to_version: KubeVersion, action: UpgradeAction, *, force: bool = False
    ) -> str:
        st = K3dState.load(cluster.state_dir)
        refusal = upgrade_refusal(KubeVersion.parse(st.version), to_version)
        if refusal and not force and st.version != str(to_version):
            raise VersionError(f"upgrade refused: {refusal}", hint="pass --force to override the skew policy")
        if action.name == upgrade.REPLACE and action.node:
            image = self.image_for(to_version)
            st.phase = f"upgrading to {to_version}"
            st.save()
            suffix = str(to_version).replace(".", "-")
            if upgrade.replace_node(self.run, action.node, image, suffix):
                return f"{action.node} replaced by a container of {image}"
            return f"{action.node} already runs {image}"
        if action.name == upgrade.FINISH and action.node is None:
            system_images.preload(self.run, self._k3d_cli(), st.name, self.images())
            st.version, st.phase = str(to_version), "ready"
            if not st.history or st.history[-1] != str(to_version):
                st.history.append(str(to_version))
            st.save()
            return f"{st.name} runs {to_version}"
        raise InputError(
            f"the k3d provider has no upgrade action {action}", hint=f"{upgrade.REPLACE} --node NAME, {upgrade.FINISH}"
        )

    def delete(self, cluster: Cluster) -> None:
        self._remove(cluster.name, cluster.state_dir)

    def kubeconfig(self, cluster: Cluster) -> Path:
        return cluster.kubeconfig

    def garbage(self, everything: bool = False) -> builtins.list[Garbage]:
        def reason(st: K3dState | Path) -> str | None:
            why_idle = "none of its node containers is running"
            return recorded_garbage_reason(st, everything=everything, idle=self._idle, why_idle=why_idle)

        return recorded_garbage(all_states(), "k3d cluster", reason, lambda d: self._remove(d.name, d))

    def nodes(self, cluster: Cluster) -> builtins.list[K3dNode]:
        """The cluster's containers as k3d lists them: servers, agents, then the load balancer."""
        return parse_nodes(self.run([self._k3d_cli(), "node", "list", "--output", "json"], timeout=60), cluster.name)

    def status(self, cluster: Cluster) -> dict[str, bool]:
        return {node.name: node.running for node in self.nodes(cluster)}

    def component_pids(self, cluster: Cluster) -> dict[str, int]:
        return {}

    def scenario_defaults(self, cluster: Cluster | None = None) -> dict[str, str]:
        return {}

    def service_host(self) -> str:
        raise ClusterError("host services for k3d clusters are not supported", hint=WHY_NO_OFFLINE_IMAGE)

    # -- internals --------------------------------------------------------------------

    def _cluster_dir(self, name: str) -> Path:
        return cluster_dir(name)

    def _load(self, directory: Path) -> K3dState:
        return K3dState.load(directory)

    def _all_states(self) -> builtins.list[K3dState | Path]:
        return all_states()

    def _idle(self, st: K3dState) -> bool:
        """Whether a ready cluster has no node container running."""
        return st.phase == "ready" and not any(self.status(self._cluster(st)).values())

    def _k3d_cli(self) -> str:
        if self.k3d:
            return self.k3d
        from harness.toolchain.ensure import ensure_product

        build = ProductBuild(Product.K3D, K3D_VERSION)
        return str(ensure_product(build, [Component.K3D], config=self.toolchain, progress=self.progress)[Component.K3D])

    def _remove(self, name: str, directory: Path) -> None:
        with contextlib.suppress(Exception):
            self.run([self._k3d_cli(), "cluster", "delete", name], timeout=120)
        shutil.rmtree(directory, ignore_errors=True)

    def _row(self, st: K3dState) -> ClusterRow:
        agents = [f"k3d-{st.name}-agent-{i}" for i in range(st.nodes - 1)]
        node_names = (system_images.server_container(st.name), *agents)
        return record_row(self.name, st, api_port=st.api_port, kubeconfig=st.kubeconfig, node_names=node_names)

    def _cluster(self, st: K3dState) -> Cluster:
        return Cluster(
            name=st.name,
            provider=self.name,
            version=KubeVersion.parse(st.version),
            kubeconfig=st.kubeconfig,
            state_dir=st.directory,
            nodes=st.nodes,
        )
