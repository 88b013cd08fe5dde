"""The kind provider: real nodes (containers running systemd, containerd and the kubelet).

Clusters are created by the kind CLI (built from ``sigs.k8s.io/kind``) from a node image
``images build --provider kind`` made offline, so pods really run: a file read through a
mount, a request through an ingress controller, a Job's log are all observable. Upgrades
are in place, as kubeadm clusters are upgraded in production: the new version's images and
binaries are loaded into the running node containers, ``kubeadm upgrade apply`` moves the
control plane, and each node's kubelet is replaced and restarted, drained first when its
pods have somewhere else to go. Node containers (and their ids) stay the same throughout.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from kubernetes import client
from python_on_whales.exceptions import DockerException

from harness.errors import ClusterError, ImageError, InputError, VersionError
from harness.images import engine
from harness.images.kind_node import (
    NodeImage,
    build_node_image,
    ensure_given_image,
    ensure_tenant_image,
    load_into_nodes,
    node_image_override,
)
from harness.kube.client import api_client, get_raw
from harness.kube.waits import wait_until
from harness.providers.base import Cluster, ProviderCapabilities
from harness.providers.kind import ingress, network
from harness.providers.kind.config import KindClusterConfig
from harness.providers.kind.state import KindState, all_states, cluster_dir
from harness.providers.local import ports
from harness.providers.local.commands import AUDIT_POLICY
from harness.providers.local.provider import StepTimings
from harness.providers.local.state import Owner, validate_name
from harness.toolchain import ToolchainConfig
from harness.toolchain.components import KIND_VERSION, Component, Product, ProductBuild
from harness.toolchain.ensure import ensure, ensure_product
from harness.toolchain.sources import ProgressFn, no_progress
from harness.versions import KubeVersion, upgrade_refusal

T = TypeVar("T")


@dataclass(frozen=True)
class KindTimeouts:
    """Deadlines, in seconds, for kind's own steps and the waits around them."""

    create: float = 600.0
    nodes_ready: float = 180.0
    system_pods: float = 180.0
    node_ready_after_kubelet: float = 180.0
    drain: float = 120.0


class KindProvider:
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
        self.last_timings = StepTimings()
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

    # -- the ClusterProvider protocol -------------------------------------------------

    def available(self) -> str | None:
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
        validate_name(name)
        if not 1 <= nodes <= 10:
            raise InputError(f"--nodes: {nodes} is out of range", hint="choose 1 to 10 kind nodes")
        if api_port is not None:
            ports.require_free(api_port, "--api-port")
        reason = self.available()
        if reason:
            raise ClusterError(f"kind provider unavailable: {reason}")
        self.last_timings = StepTimings()
        self._refuse_existing(name)
        kind = self._step("kind CLI", self._kind_cli)
        given = node_image_override(version)
        if given:
            reference = self._step("node image", lambda: ensure_given_image(given, self.progress))
            tenant = self._step("tenant image", lambda: ensure_tenant_image(self.progress))
            image = NodeImage(reference, version, (tenant,), tenant)
        else:
            image = self._step("node image", lambda: self._node_image(version))
        directory = cluster_dir(name)
        directory.parent.mkdir(parents=True, exist_ok=True)
        directory.mkdir(mode=0o700)
        try:
            st = self._reserve(name, directory, image, nodes, api_port, keep)
            config = self._write_config(st, version)
            self._step(
                "kind create cluster",
                lambda: self._kind(
                    kind,
                    ["create", "cluster", "--name", name, "--config", str(config), "--kubeconfig", str(st.kubeconfig)],
                    timeout=self.timeouts.create,
                    log=directory / "kind-create.log",
                ),
            )
            st.kubeconfig.chmod(0o600)
            st.container_ids = self._container_ids(name)
            if given:  # a node image not built here: bring the tenant image in
                self._step(
                    "tenant image into nodes",
                    lambda: load_into_nodes(self.node_names(self._cluster(st)), image.preloaded),
                )
            if self._brings_own_cni(st):
                self.progress("the node image brings its own CNI (kindnetd): pod network left to it")
            else:
                self._step("pod network", lambda: self._configure_network(st))
            self._step("ready", lambda: self._wait_ready(st, version))
            self._step("webhook image into nodes", lambda: self._load_webhook_image(st))
            if self.ingress:
                self._step("ingress controller", lambda: self._install_ingress(st))
            st.phase = "ready"
            st.history.append(str(version))
            st.save()
        except BaseException:
            self._remove(name, directory)
            raise
        return self._cluster(st)

    def upgrade(self, cluster: Cluster, to_version: KubeVersion, *, force: bool = False) -> Cluster:
        """Upgrade in place: control plane with kubeadm, then every node's kubelet (drained first)."""
        self.upgrade_control_plane(cluster, to_version, force=force)
        for node in self.node_names(cluster)[1:]:
            drained = self.drain(cluster, node)
            self.upgrade_node(cluster, node, to_version)
            if drained:
                self.uncordon(cluster, node)
        return self.finish_upgrade(cluster, to_version)

    def finish_upgrade(self, cluster: Cluster, to_version: KubeVersion) -> Cluster:
        """Wait until every node and system pod is ready at ``to_version``, then record it."""
        st = KindState.load(cluster.state_dir)
        self._step("ready", lambda: self._wait_ready(st, to_version))
        st.version = str(to_version)
        st.phase = "ready"
        if not st.history or st.history[-1] != str(to_version):
            st.history.append(str(to_version))
        st.save()
        return self._cluster(st)

    def delete(self, cluster: Cluster) -> None:
        self.delete_by_name(cluster.name)

    def delete_by_name(self, name: str) -> None:
        validate_name(name)
        directory = cluster_dir(name)
        if not directory.exists():
            raise ClusterError(f"no kind cluster named {name!r}", hint="see 'spin-harness cluster list'")
        self._remove(name, directory)

    def kubeconfig(self, cluster: Cluster) -> Path:
        return cluster.kubeconfig

    def get(self, name: str) -> Cluster:
        validate_name(name)
        directory = cluster_dir(name)
        if not directory.exists():
            raise ClusterError(f"no kind cluster named {name!r}", hint="see 'spin-harness cluster list'")
        return self._cluster(KindState.load(directory))

    def clusters(self) -> list[Cluster]:
        return [self._cluster(st) for st in all_states() if isinstance(st, KindState)]

    def status(self, cluster: Cluster) -> dict[str, bool]:
        """Which node containers of the cluster are running."""
        docker = engine.docker_client()
        out: dict[str, bool] = {}
        for container in self.node_names(cluster):
            try:
                out[container] = bool(docker.container.inspect(container).state.running)
            except DockerException:
                out[container] = False
        return out

    # -- upgrade phases (the playbook runs them one by one, draining in between) -------

    def upgrade_control_plane(self, cluster: Cluster, to_version: KubeVersion, *, force: bool = False) -> None:
        """Load ``to_version`` into every node, then ``kubeadm upgrade apply`` and the control plane's kubelet."""
        st = KindState.load(cluster.state_dir)
        current = KubeVersion.parse(st.version)
        if current == to_version:
            return
        refusal = upgrade_refusal(current, to_version)
        if refusal and not force:
            raise VersionError(f"upgrade refused: {refusal}", hint="pass --force to override the skew policy")
        self.last_timings = StepTimings()
        image = self._step("node image", lambda: self._node_image(to_version))
        st.phase = f"upgrading to {to_version}"
        st.save()
        nodes = self.node_names(cluster)
        self._step(f"load {to_version} into {len(nodes)} node(s)", lambda: self._load(nodes, image))
        control_plane = nodes[0]
        self._step(
            f"kubeadm upgrade apply {to_version}",
            lambda: self._exec(
                control_plane,
                ["kubeadm", "upgrade", "apply", str(to_version), "--yes", "--ignore-preflight-errors=all", "--v=1"],
                log=st.directory / f"kubeadm-upgrade-apply-{to_version}.log",
            ),
        )
        self._step(f"kubelet {control_plane}", lambda: self._restart_kubelet(st, control_plane, to_version))
        # The new kubelet may recreate the static pods it now hashes differently: the API is
        # back only once it has answered for a while, not at its first answer.
        self._step("API stable", lambda: self._wait_api_stable(st))
        st.image = image.reference
        st.save()

    def upgrade_node(self, cluster: Cluster, node: str, to_version: KubeVersion) -> None:
        """``kubeadm upgrade node`` on a worker, then its new kubelet (images were loaded before)."""
        st = KindState.load(cluster.state_dir)
        if node not in self.node_names(cluster)[1:]:
            raise InputError(f"{node!r} is not a worker of {cluster.name}", hint=", ".join(self.node_names(cluster)))
        self._step(
            f"kubeadm upgrade node {node}",
            lambda: self._exec(
                node,
                ["kubeadm", "upgrade", "node", "--ignore-preflight-errors=all"],
                log=st.directory / f"kubeadm-upgrade-node-{node}-{to_version}.log",
            ),
        )
        self._step(f"kubelet {node}", lambda: self._restart_kubelet(st, node, to_version))

    def drain(self, cluster: Cluster, node: str) -> bool:
        """Cordon and drain ``node`` when another schedulable node can take its pods; True if drained."""
        with contextlib.closing(api_client(cluster.kubeconfig)) as api:
            core = client.CoreV1Api(api)
            listed: list[client.V1Node] = []

            def list_nodes() -> tuple[bool, str]:
                listed[:] = core.list_node().items
                return True, f"{len(listed)} nodes"

            wait_until("the node list", list_nodes, timeout=self.timeouts.drain, max_interval=2)
            others = [
                n
                for n in listed
                if n.metadata.name != node and not n.spec.unschedulable and not _has_no_schedule_taint(n)
            ]
        if not others:
            self.progress(f"{node}: not drained, no other node can take its pods")
            return False
        kubectl = self._kubectl(cluster)
        self._step(
            f"drain {node}",
            lambda: wait_until(
                f"drain {node}",
                lambda: _attempt(lambda: _drained(kubectl, cluster.kubeconfig, node, self.timeouts.drain)),
                timeout=self.timeouts.drain * 2,
                max_interval=2,
            ),
        )
        return True

    def uncordon(self, cluster: Cluster, node: str) -> None:
        kubectl = self._kubectl(cluster)

        def uncordoned() -> tuple[bool, str]:
            _run([str(kubectl), f"--kubeconfig={cluster.kubeconfig}", "uncordon", node], timeout=30)
            return True, "uncordoned"

        # ClusterError from a failed kubectl ends a wait at once; a flapping API deserves retries.
        wait_until(f"uncordon {node}", lambda: _attempt(uncordoned), timeout=self.timeouts.drain, max_interval=2)

    def node_names(self, cluster: Cluster) -> list[str]:
        """Node container names, control plane first (kind names them after the cluster)."""
        st = KindState.load(cluster.state_dir)
        names = [f"{st.name}-control-plane"]
        names += [f"{st.name}-worker{'' if i == 1 else i}" for i in range(1, st.nodes)]
        return names

    def scenario_defaults(self, cluster: Cluster | None = None) -> dict[str, str]:
        """Tenant pods run the busybox image every node image preloads (nothing can be pulled);
        the in-cluster webhook runs the image ``create`` loaded into the nodes."""
        from harness.images.kind_node import tenant_image_reference
        from harness.images.rootfs import node_root
        from harness.images.webhook_image import webhook_image_reference

        defaults = {"image": tenant_image_reference(node_root().key)}
        with contextlib.suppress(ImageError):
            defaults["webhook_image"] = webhook_image_reference()
        if self.ingress:
            defaults["controller"] = ingress.CONTROLLER
            if cluster is not None:
                defaults["ingress_address"] = f"127.0.0.1:{KindState.load(cluster.state_dir).ingress_port}"
        return defaults

    def _load_webhook_image(self, st: KindState) -> None:
        """The in-cluster webhook's image (this harness's code) into every node, for scenarios.

        Not part of the node image: it changes with every change to the harness, and a node
        image takes a minute to build. Where it cannot be built (a host Python Debian does not
        ship), the cluster is still made and the scenario step that deploys it says why.
        """
        from harness.images.webhook_image import ensure_webhook_image

        try:
            reference = ensure_webhook_image(self.progress)
        except ImageError as exc:
            self.progress(f"no in-cluster webhook image: {exc}")
            return
        load_into_nodes(self.node_names(self._cluster(st)), [reference])

    def service_host(self) -> str:
        """The address host services (the harness's webhook) listen on for kind's apiservers.

        It is the kind network's gateway: the host's side of the bridge the nodes sit on,
        reachable from node containers and from nothing outside this machine.
        """
        docker = engine.docker_client()
        with contextlib.suppress(DockerException):
            for config in docker.network.inspect("kind").ipam.config or []:
                gateway = config.get("Gateway") or config.get("gateway")
                if gateway and ":" not in gateway:
                    return str(gateway)
        raise ClusterError("the kind network has no IPv4 gateway yet", hint="create a kind cluster first")

    # -- internals --------------------------------------------------------------------

    def _step(self, title: str, action: Callable[[], T]) -> T:
        self.progress(f"{title}...")
        started = time.monotonic()
        result = action()
        self.last_timings.steps.append((title, time.monotonic() - started))
        return result

    def _kind_cli(self) -> Path:
        build = ProductBuild(Product.KIND, KIND_VERSION)
        return ensure_product(build, [Component.KIND], config=self.toolchain, progress=self.progress)[Component.KIND]

    def _kubectl(self, cluster: Cluster) -> Path:
        build = ProductBuild(Product.KUBERNETES, str(KindState.load(cluster.state_dir).version))
        return ensure_product(build, [Component.KUBECTL], config=self.toolchain, progress=self.progress)[
            Component.KUBECTL
        ]

    def _node_image(self, version: KubeVersion) -> NodeImage:
        return build_node_image(version, config=self.toolchain, progress=self.progress)

    def _refuse_existing(self, name: str) -> None:
        if cluster_dir(name).exists():
            raise InputError(
                f"a kind cluster named {name!r} already exists ({cluster_dir(name)})",
                hint="choose another name, or remove it with 'spin-harness cluster down --provider kind'",
            )

    def _reserve(
        self, name: str, directory: Path, image: NodeImage, nodes: int, api_port: int | None, keep: bool
    ) -> KindState:
        with ports.reservation_lock():
            taken = [p for st in all_states() if isinstance(st, KindState) for p in (st.api_port, st.ingress_port)]
            picked = ports.pick_free_ports(2, taken)
            st = KindState(
                name=name,
                directory=directory,
                version=str(image.version),
                image=image.reference,
                nodes=nodes,
                api_port=api_port or picked[0],
                ingress_port=picked[1],
                owner=None if keep else Owner.current(),
            )
            st.save()
        return st

    def _write_config(self, st: KindState, version: KubeVersion) -> Path:
        st.global_fs.mkdir(mode=0o755, exist_ok=True)
        st.global_fs.chmod(0o755)  # tenant pods run as their own uid below it
        audit_dir = st.directory / "audit"
        audit_dir.mkdir(mode=0o700, exist_ok=True)
        policy = st.directory / "audit-policy.yaml"
        policy.write_text(AUDIT_POLICY)
        config = KindClusterConfig(
            name=st.name,
            image=st.image,
            version=version,
            nodes=st.nodes,
            api_port=st.api_port,
            ingress_port=st.ingress_port,
            global_fs_host=st.global_fs,
            audit_policy_host=policy,
            audit_dir_host=audit_dir,
            cgroup_v1=_engine_cgroup_version() == "1",
        )
        path = st.directory / "kind-config.yaml"
        path.write_text(config.render())
        return path

    def _kind(self, kind: Path, args: list[str], *, timeout: float, log: Path) -> None:
        env = dict(os.environ, KIND_EXPERIMENTAL_PROVIDER="docker")
        try:
            proc = subprocess.run(
                [str(kind), *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(f"kind {args[0]} did not finish in {timeout:.0f}s") from exc
        log.write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
            raise ClusterError(f"kind {' '.join(args[:2])} failed (exit {proc.returncode}, log {log}):\n{tail}")

    def _container_ids(self, name: str) -> dict[str, str]:
        docker = engine.docker_client()
        containers = docker.container.list(all=True, filters=[("label", f"io.x-k8s.kind.cluster={name}")])
        return {c.name: c.id for c in containers}

    def _brings_own_cni(self, st: KindState) -> bool:
        """kind's own images run kindnetd from /kind/manifests/default-cni.yaml; spin-harness's run none."""
        manifest = self._exec(f"{st.name}-control-plane", ["cat", "/kind/manifests/default-cni.yaml"])
        return "spin-harness-cni" not in manifest

    def _configure_network(self, st: KindState) -> None:
        docker = engine.docker_client()
        with contextlib.closing(api_client(st.kubeconfig)) as api:
            core = client.CoreV1Api(api)

            def cidrs() -> tuple[bool, str]:
                items = core.list_node().items
                missing = [n.metadata.name for n in items if not n.spec.pod_cidr]
                return len(items) >= st.nodes and not missing, f"{len(items)} nodes, without pod CIDR: {missing}"

            wait_until("every node's pod CIDR", cidrs, timeout=self.timeouts.nodes_ready)
            nodes = [
                network.NodeNetwork(n.metadata.name, _internal_ip(n), n.spec.pod_cidr) for n in core.list_node().items
            ]
        network.configure(docker, nodes)

    def _wait_ready(self, st: KindState, version: KubeVersion) -> None:
        with contextlib.closing(api_client(st.kubeconfig)) as api:
            core = client.CoreV1Api(api)

            def nodes_ready() -> tuple[bool, str]:
                items = core.list_node().items
                ready = [
                    n.metadata.name
                    for n in items
                    if _node_ready(n) and n.status.node_info.kubelet_version == str(version)
                ]
                return len(ready) >= st.nodes, f"{len(ready)}/{st.nodes} nodes Ready at {version}"

            wait_until("all nodes Ready", nodes_ready, timeout=self.timeouts.nodes_ready, max_interval=2)

            def system_pods() -> tuple[bool, str]:
                pods = core.list_namespaced_pod("kube-system").items
                waiting = [p.metadata.name for p in pods if not _pod_ready(p)]
                dns = [p for p in pods if (p.metadata.labels or {}).get("k8s-app") == "kube-dns"]
                return bool(dns) and not waiting, f"not ready: {waiting or 'CoreDNS not scheduled yet'}"

            wait_until("kube-system pods ready", system_pods, timeout=self.timeouts.system_pods, max_interval=2)

            def default_sa() -> tuple[bool, str]:
                names = [sa.metadata.name for sa in core.list_namespaced_service_account("default").items]
                return "default" in names, f"service accounts in default: {names}"

            wait_until("the default ServiceAccount", default_sa, timeout=60)

    def _install_ingress(self, st: KindState) -> None:
        image = ingress.ensure_image(self.toolchain, self.progress)
        cluster = self._cluster(st)
        load_into_nodes(self.node_names(cluster), [image])
        kubectl = self._kubectl(cluster)
        proc = subprocess.run(
            [str(kubectl), f"--kubeconfig={st.kubeconfig}", "apply", "--server-side", "-f", "-"],
            input=ingress.manifests(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise ClusterError(f"installing the ingress controller failed: {proc.stderr.strip()[-800:]}")
        with contextlib.closing(api_client(st.kubeconfig)) as api:
            apps = client.AppsV1Api(api)

            def available() -> tuple[bool, str]:
                deployment = apps.read_namespaced_deployment("traefik", ingress.NAMESPACE)
                ready = deployment.status.ready_replicas or 0
                return ready >= (deployment.spec.replicas or 1), f"{ready} Traefik replicas ready"

            wait_until("the ingress controller", available, timeout=self.timeouts.system_pods, max_interval=2)

    def _wait_api_stable(self, st: KindState, quiet_seconds: float = 10.0) -> None:
        """Wait until ``/readyz`` has answered 200 for ``quiet_seconds`` without a failure."""
        since: list[float] = []
        with contextlib.closing(api_client(st.kubeconfig)) as api:

            def stable() -> tuple[bool, str]:
                try:
                    status, _ = get_raw(api, "/readyz", timeout=3)
                except Exception as exc:  # the apiserver is restarting
                    status = 0
                    detail = f"{type(exc).__name__}"
                else:
                    detail = f"/readyz {status}"
                if status != 200:
                    since.clear()
                    return False, detail
                if not since:
                    since.append(time.monotonic())
                held = time.monotonic() - since[0]
                return held >= quiet_seconds, f"/readyz 200 for {held:.0f}s"

            wait_until(
                "the API answering steadily", stable, timeout=self.timeouts.system_pods, interval=1, max_interval=1
            )

    def _load(self, nodes: list[str], image: NodeImage) -> None:
        """Copy the version's images and kubeadm/kubelet/kubectl into every running node."""
        docker = engine.docker_client()
        tools = ensure(
            image.version,
            [Component.KUBEADM, Component.KUBELET, Component.KUBECTL],
            config=self.toolchain,
            progress=self.progress,
        )
        load_into_nodes(nodes, image.preloaded)
        for node in nodes:
            for component, path in tools.paths.items():
                docker.container.copy(path, (node, f"/usr/bin/{component.value}.new"))
            # kubeadm and kubectl are replaced now; the kubelet only when its node's turn comes.
            self._exec(
                node,
                [
                    "bash",
                    "-c",
                    "chmod 0755 /usr/bin/*.new && mv /usr/bin/kubeadm.new /usr/bin/kubeadm && "
                    f"mv /usr/bin/kubectl.new /usr/bin/kubectl && echo -n {image.version} > /kind/version",
                ],
            )

    def _restart_kubelet(self, st: KindState, node: str, version: KubeVersion) -> None:
        self._exec(
            node,
            [
                "bash",
                "-c",
                "if [ -f /usr/bin/kubelet.new ]; then mv /usr/bin/kubelet.new /usr/bin/kubelet; fi; "
                "systemctl daemon-reload && systemctl restart kubelet",
            ],
        )
        with contextlib.closing(api_client(st.kubeconfig)) as api:
            core = client.CoreV1Api(api)

            def at_version() -> tuple[bool, str]:
                n = core.read_node(node)
                kubelet = n.status.node_info.kubelet_version
                return kubelet == str(version) and _node_ready(n), f"{node}: kubelet {kubelet}, ready={_node_ready(n)}"

            wait_until(
                f"{node} Ready at {version}", at_version, timeout=self.timeouts.node_ready_after_kubelet, max_interval=2
            )

    def _exec(self, container: str, command: list[str], *, log: Path | None = None) -> str:
        docker = engine.docker_client()
        try:
            output = str(docker.container.execute(container, command) or "")
        except DockerException as exc:
            text = (exc.stdout or "") + (exc.stderr or "")
            if log is not None:
                log.write_text(text)
            tail = "\n".join(text.strip().splitlines()[-15:])
            raise ClusterError(f"{container}: {' '.join(command[:4])} failed:\n{tail}") from None
        if log is not None:
            log.write_text(output)
        return output

    def _remove(self, name: str, directory: Path) -> None:
        """Remove the cluster's containers (kind delete, then any left by label) and its directory."""
        docker = engine.docker_client()
        with contextlib.suppress(Exception):
            kind = self._kind_cli()
            self._kind(kind, ["delete", "cluster", "--name", name], timeout=120, log=Path(os.devnull))
        with contextlib.suppress(DockerException):
            leftovers = docker.container.list(all=True, filters=[("label", f"io.x-k8s.kind.cluster={name}")])
            if leftovers:
                docker.container.remove(leftovers, force=True, volumes=True)
        shutil.rmtree(directory, ignore_errors=True)

    def _cluster(self, st: KindState) -> Cluster:
        audit = st.directory / "audit" / "audit.log"
        return Cluster(
            name=st.name,
            provider=self.name,
            version=KubeVersion.parse(st.version),
            kubeconfig=st.kubeconfig,
            state_dir=st.directory,
            nodes=st.nodes,
            logs={},
            audit_log=audit,
        )


def remove_state_dir(directory: Path) -> None:
    """For gc: remove a kind cluster whose record is unreadable (by its directory name)."""
    KindProvider()._remove(directory.name, directory)


def _run(command: list[str], *, timeout: float) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise ClusterError(
            f"{Path(command[0]).name} {command[2]} failed: {(proc.stderr or proc.stdout).strip()[-800:]}"
        )


def _drained(kubectl: Path, kubeconfig: Path, node: str, timeout: float) -> tuple[bool, str]:
    command = [str(kubectl), f"--kubeconfig={kubeconfig}", "drain", node, "--ignore-daemonsets"]
    command += ["--delete-emptydir-data", "--force", f"--timeout={int(timeout)}s"]
    _run(command, timeout=timeout + 30)
    return True, "drained"


def _attempt(action: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
    """``action`` for ``wait_until``, with its ClusterError a "not yet" instead of the end."""
    try:
        return action()
    except ClusterError as exc:
        return False, str(exc)[-300:]


def _engine_cgroup_version() -> str:
    """The Docker host's cgroup version ("1" or "2"), as the engine reports it."""
    with contextlib.suppress(DockerException):
        raw = engine.docker_client().client_config  # the CLI's `info` knows it; the model does not
        proc = subprocess.run(
            [*raw.docker_cmd, "info", "--format", "{{.CgroupVersion}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    return "2" if Path("/sys/fs/cgroup/cgroup.controllers").is_file() else "1"


def _internal_ip(node: client.V1Node) -> str:
    for address in node.status.addresses or []:
        if address.type == "InternalIP":
            return str(address.address)
    raise ClusterError(f"node {node.metadata.name} has no InternalIP")


def _node_ready(node: client.V1Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))


def _pod_ready(pod: client.V1Pod) -> bool:
    if pod.status.phase == "Succeeded":
        return True
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def _has_no_schedule_taint(node: client.V1Node) -> bool:
    return any(t.effect == "NoSchedule" for t in (node.spec.taints or []))


__all__ = ["KindProvider"]
