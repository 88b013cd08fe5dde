"""The kind provider: real nodes (containers running systemd, containerd and the kubelet).

Clusters are created by the kind CLI (built from ``sigs.k8s.io/kind``) from a node image
``images build --provider kind`` made offline, so pods really run: a file read through a
mount, a request through an ingress controller, a Job's log are all observable. Upgrades are
in place, kubeadm's way (``kubeadm_upgrade``): named actions (``plan``) that ``upgrade`` runs in
order and the playbook runs one by one. This module holds the lifecycle; each other job has its module:
node containers (``nodes``), pod network (``cni``), draining (``drain``), ingress, webhook image.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ClusterError, ImageError, InputError
from harness.providers.base import Cluster, ClusterRow, Garbage, ProviderCapabilities, UpgradeAction
from harness.providers.common import ports
from harness.providers.common.owner import validate_name
from harness.providers.common.recorded import RecordedClusters, record_row
from harness.providers.common.steps import Steps, StepTimings
from harness.providers.kind import plan
from harness.providers.kind.garbage import kind_garbage
from harness.providers.kind.state import KindState, all_states, cluster_dir, node_names
from harness.providers.kind.tools import KindTimeouts
from harness.toolchain.sources import ProgressFn, no_progress
from harness.versions import KubeVersion

if TYPE_CHECKING:
    from harness.providers.kind.kubeadm_upgrade import KubeadmUpgrade
    from harness.toolchain import ToolchainConfig

# Listing a cluster, its plan or its kubeconfig (the playbook's cheap steps, one process each)
# reads the cluster's record only: the Docker and Kubernetes clients, the image builds and
# kubeadm's steps are imported by the methods that use them.

#: How long a failed image load waits to learn whether the create failed with it (Ctrl-C reaches
#: both at once), before its error is reported as its own.
ABANDON_GRACE_SECONDS = 10.0


class KindProvider(RecordedClusters[KindState]):
    """kind clusters of spin-harness node images. Safe to use from several processes at once."""

    name = "kind"

    def __init__(
        self,
        *,
        toolchain: ToolchainConfig | None = None,
        progress: ProgressFn = no_progress,
        timeouts: KindTimeouts | None = None,
        ingress: bool | None = None,
    ) -> None:
        """``ingress``: run the Traefik ingress controller in every cluster (default: unless
        ``SPIN_HARNESS_KIND_INGRESS=0``; building Traefik the first time takes several minutes)."""
        self.toolchain = toolchain
        self.progress = progress
        self.timeouts = timeouts or KindTimeouts()
        self.steps = Steps(progress)
        self.ingress = ingress if ingress is not None else os.environ.get("SPIN_HARNESS_KIND_INGRESS", "1") != "0"
        self.capabilities = ProviderCapabilities(
            real_containers=True,
            ingress_data_path=self.ingress,
            in_place_upgrade=True,
            # The apiserver runs in a container: host services are reached through the kind
            # network's gateway address instead (``service_host``).
            loopback_webhooks=False,
            audit_log=True,
        )

    @functools.cached_property
    def kubeadm(self) -> KubeadmUpgrade:
        """The steps of node images and in-place upgrades (kubeadm's), loaded when first needed."""
        from harness.providers.kind.kubeadm_upgrade import KubeadmUpgrade

        return KubeadmUpgrade(self.toolchain, self.steps, self.timeouts)

    @property
    def last_timings(self) -> StepTimings:
        """Seconds per named step of the last create or upgrade."""
        return self.steps.timings

    # -- the ClusterProvider protocol -------------------------------------------------

    def available(self) -> str | None:
        from harness.images import engine

        return engine.engine_unavailable_reason()

    def create(
        self,
        name: str,
        version: KubeVersion,
        nodes: int = 1,
        *,
        keep: bool = False,
        api_port: int | None = None,
    ) -> Cluster:
        """Create a kind cluster of ``nodes`` nodes (the first the control plane) at ``version``.

        On any failure (or Ctrl-C) the containers and the state directory are removed again.
        """
        from harness.images.kind_node import NodeImage, ensure_given_image, ensure_tenant_image
        from harness.images.kind_node import node_image_override as given_node_image
        from harness.providers.common.background import beside
        from harness.providers.kind import cni
        from harness.providers.kind import nodes as kind_nodes
        from harness.providers.kind.setup import remove_cluster, reserve, write_config
        from harness.providers.kind.tools import kind_cli, run_kind

        validate_name(name)
        if not 1 <= nodes <= 10:
            raise InputError(f"--nodes: {nodes} is out of range", hint="choose 1 to 10 kind nodes")
        if api_port is not None:
            ports.require_free(api_port, "--api-port")
        reason = self.available()
        if reason:
            raise ClusterError(f"kind provider unavailable: {reason}")
        self.steps.restart()
        step = self.steps
        self._refuse_existing(name)
        kind = step("kind CLI", lambda: kind_cli(self.toolchain, self.progress))
        given = given_node_image(version)
        if given:
            reference = step("node image", lambda: ensure_given_image(given, self.progress))
            tenant = step("tenant image", lambda: ensure_tenant_image(self.progress))
            image = NodeImage(reference, version, (tenant,), tenant)
        else:
            image = step("node image", lambda: self.kubeadm.node_image(version))
        directory = cluster_dir(name)
        directory.parent.mkdir(parents=True, exist_ok=True)
        directory.mkdir(mode=0o700)
        try:
            st = reserve(name, directory, image, nodes, api_port, keep)
            config = write_config(st, version)
            # --retain: a failed create keeps its nodes until the loader below has stopped
            # copying into them; remove_cluster removes them then.
            create = ["create", "cluster", "--name", name, "--config", str(config), "--retain"]
            create += ["--kubeconfig", str(st.kubeconfig)]
            # The images of the cluster's own pods (the in-cluster webhook's, Traefik's, and the
            # tenant image when the node image was not built here) are saved while kind creates
            # the nodes, and copied into each node once its containerd answers, while kubeadm
            # brings the cluster up. A failed create stops the loader waiting for nodes, or waits
            # for its copies, before removing the nodes.
            creation_failed = threading.Event()
            brought = image.preloaded if given else ()  # a node image built here preloads them
            with beside(
                lambda: self._load_platform_images(st, creation_failed, brought),
                title=f"kind images of {name}",
                progress=self.progress,
                abandoned=creation_failed,
            ) as platform_images:
                step(
                    "kind create cluster",
                    lambda: run_kind(kind, create, timeout=self.timeouts.create, log=directory / "kind-create.log"),
                )
                st.kubeconfig.chmod(0o600)
                st.container_ids = self._container_ids(name)
                if cni.brings_own_cni(st):
                    self.progress("the node image brings its own CNI (kindnetd): pod network left to it")
                else:
                    step("pod network", lambda: cni.configure_pod_network(st, self.timeouts.nodes_ready))
                step("ready", lambda: kind_nodes.wait_ready(st, version, self.timeouts))
                step("cluster images into nodes (rest of)", platform_images.result)
            if self.ingress:
                step("ingress controller", lambda: self._install_ingress(st))
            st.phase = "ready"
            st.history.append(str(version))
            st.save()
        except BaseException:
            remove_cluster(name, directory, self.toolchain, self.progress)
            raise
        return self._cluster(st)

    def upgrade(self, cluster: Cluster, to_version: KubeVersion, *, force: bool = False) -> Cluster:
        """Upgrade in place: control plane with kubeadm, then every node's kubelet (drained first)."""
        from harness.providers.common.upgrade_plan import execute_plan

        return execute_plan(self, cluster, to_version, force=force, progress=self.progress)

    def upgrade_plan(self, cluster: Cluster, to_version: KubeVersion) -> builtins.list[UpgradeAction]:
        return plan.upgrade_plan(KindState.load(cluster.state_dir))

    def upgrade_action(
        self, cluster: Cluster, to_version: KubeVersion, action: UpgradeAction, *, force: bool = False
    ) -> str:
        from harness.providers.kind import drain
        from harness.providers.kind.tools import kubectl

        st = KindState.load(cluster.state_dir)
        known = {a.name for a in plan.upgrade_plan(st)}
        if action.name not in known:
            raise InputError(f"the kind provider has no upgrade action {action.name!r}", hint=", ".join(sorted(known)))
        if action.name in (plan.CONTROL_PLANE, plan.FINISH):
            if action.name == plan.CONTROL_PLANE:
                self.kubeadm.control_plane(st, to_version, force=force)
                return f"{cluster.name}: control plane at {to_version}"
            self.kubeadm.finish(st, to_version)
            return f"{cluster.name}: every node and system pod ready at {to_version}"
        node = action.node
        if node is None:
            raise InputError(f"the upgrade action {action.name} needs a node", hint="--node NAME")
        if action.name == plan.NODE:
            self.kubeadm.node(st, node, to_version)
            return f"{node}: kubelet at {to_version}"
        tool = kubectl(st.version, self.toolchain, self.progress)
        if action.name == plan.DRAIN:
            if self.steps(f"drain {node}", lambda: drain.drain(st, tool, node, self.timeouts.drain)):
                return f"{node} drained"
            return f"{node} not drained: no other node can take its pods"
        if drain.uncordon(st, tool, node, self.timeouts.drain):
            return f"{node} uncordoned"
        return f"{node} not uncordoned: the upgrade did not drain it"

    def delete(self, cluster: Cluster) -> None:
        self.delete_by_name(cluster.name)

    def delete_by_name(self, name: str) -> None:
        validate_name(name)
        directory = cluster_dir(name)
        if not directory.exists():
            raise ClusterError(f"no kind cluster named {name!r}", hint="see 'spin-harness cluster list'")
        from harness.providers.kind.setup import remove_cluster

        remove_cluster(name, directory, self.toolchain, self.progress)

    def kubeconfig(self, cluster: Cluster) -> Path:
        return cluster.kubeconfig

    def garbage(self, everything: bool = False) -> builtins.list[Garbage]:
        from harness.providers.kind.setup import remove_cluster

        return kind_garbage(
            everything=everything,
            running=lambda st: any(self.status(self._cluster(st)).values()),
            remove=lambda directory: remove_cluster(directory.name, directory, self.toolchain, self.progress),
        )

    def status(self, cluster: Cluster) -> dict[str, bool]:
        """Which node containers of the cluster are running."""
        from harness.providers.kind import nodes as kind_nodes

        return kind_nodes.running(self.node_names(cluster))

    def component_pids(self, cluster: Cluster) -> dict[str, int]:
        return {}

    def node_names(self, cluster: Cluster) -> builtins.list[str]:
        """Node container names, control plane first (kind names them after the cluster)."""
        return node_names(KindState.load(cluster.state_dir))

    def scenario_defaults(self, cluster: Cluster | None = None) -> dict[str, str]:
        """Tenant pods run the busybox image every node image preloads (nothing can be pulled);
        the in-cluster webhook runs the image ``create`` loaded into the nodes."""
        from harness.images.kind_node import tenant_image_reference
        from harness.images.rootfs import node_root
        from harness.images.webhook_image import webhook_image_reference
        from harness.providers.kind import ingress

        defaults = {"image": tenant_image_reference(node_root().key)}
        with contextlib.suppress(ImageError):
            defaults["webhook_image"] = webhook_image_reference()
        if self.ingress:
            defaults["controller"] = ingress.CONTROLLER
            if cluster is not None:
                defaults["ingress_address"] = f"127.0.0.1:{KindState.load(cluster.state_dir).ingress_port}"
        return defaults

    def service_host(self) -> str:
        """The address host services (the harness's webhook) listen on for kind's apiservers.

        It is the kind network's gateway: the host's side of the bridge the nodes sit on,
        reachable from node containers and from nothing outside this machine.
        """
        from python_on_whales.exceptions import DockerException

        from harness.images import engine

        docker = engine.docker_client()
        with contextlib.suppress(DockerException):
            for config in docker.network.inspect("kind").ipam.config or []:
                gateway = config.get("Gateway") or config.get("gateway")
                if gateway and ":" not in gateway:
                    return str(gateway)
        raise ClusterError("the kind network has no IPv4 gateway yet", hint="create a kind cluster first")

    # -- internals --------------------------------------------------------------------

    def _cluster_dir(self, name: str) -> Path:
        return cluster_dir(name)

    def _load(self, directory: Path) -> KindState:
        return KindState.load(directory)

    def _all_states(self) -> builtins.list[KindState | Path]:
        return all_states()

    def _container_ids(self, name: str) -> dict[str, str]:
        from harness.providers.kind import nodes as kind_nodes

        return kind_nodes.container_ids(name)

    def _refuse_existing(self, name: str) -> None:
        if cluster_dir(name).exists():
            raise InputError(
                f"a kind cluster named {name!r} already exists ({cluster_dir(name)})",
                hint="choose another name, or remove it with 'spin-harness cluster down --provider kind'",
            )

    def _load_platform_images(
        self, st: KindState, creation_failed: threading.Event, brought: tuple[str, ...] = ()
    ) -> None:
        """The in-cluster webhook's image (when it can be built), Traefik's and ``brought``, into every node.

        Starts with kind's create: each node gets its copy as soon as its containerd answers.
        A failure that comes with the create's own (Ctrl-C reaches the loader's docker and
        build commands too) is the create's, not a second one: it ends as ``Abandoned``.
        """
        from harness.images.kind_load import load_into_nodes
        from harness.providers.common.background import Abandoned
        from harness.providers.kind import ingress
        from harness.providers.kind import nodes as kind_nodes
        from harness.providers.kind.webhook import webhook_image

        try:
            references = [*brought, webhook_image(self.progress)]
            if self.ingress:
                references.append(ingress.ensure_image(self.toolchain, self.progress))
            chosen = [r for r in references if r]
            if creation_failed.is_set():  # no archive to save for nodes that are being removed
                raise Abandoned(f"{st.name}: the cluster's creation failed before its images were loaded")

            def wait_for_node(node: str) -> None:
                kind_nodes.wait_containerd(node, timeout=self.timeouts.create, abandoned=creation_failed)

            if chosen:
                load_into_nodes(dict.fromkeys(node_names(st), chosen), wait_for_node=wait_for_node)
        except Exception as exc:
            if not isinstance(exc, Abandoned) and creation_failed.wait(ABANDON_GRACE_SECONDS):
                raise Abandoned(f"{st.name}: the cluster's creation failed while its images were loaded") from exc
            raise

    def _install_ingress(self, st: KindState) -> None:
        from harness.providers.kind import ingress
        from harness.providers.kind.tools import kubectl

        tool = kubectl(st.version, self.toolchain, self.progress)
        ingress.install(st, tool, self.timeouts.system_pods)

    def _row(self, st: KindState) -> ClusterRow:
        names = tuple(node_names(st))
        extra = {"image": st.image}
        return record_row(self.name, st, api_port=st.api_port, kubeconfig=st.kubeconfig, node_names=names, extra=extra)

    def _cluster(self, st: KindState) -> Cluster:
        return Cluster(
            name=st.name,
            provider=self.name,
            version=KubeVersion.parse(st.version),
            kubeconfig=st.kubeconfig,
            state_dir=st.directory,
            nodes=st.nodes,
            logs={},
            audit_log=st.directory / "audit" / "audit.log",
        )


__all__ = ["KindProvider", "KindTimeouts"]
