"""The local provider: Kubernetes control planes as processes on 127.0.0.1, nodes from kwok.

Everything the API server decides (RBAC, admission, webhooks, quotas, storage versions,
discovery) is real upstream code; only kubelets are simulated. Upgrades swap binaries over the
same etcd data, in the order the upstream skew policy prescribes: etcd (when its version
changes), kube-apiserver, kube-controller-manager, kube-scheduler, then the nodes' kubelet
version.

Bring-up and upgrade are ordered lists of named steps; each step reports progress and its
duration, which the reports show as timings per phase.
"""

from __future__ import annotations

import contextlib
import shutil
import ssl
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TypeVar

import psutil
from kubernetes import client

from harness.errors import ClusterError, InputError, VersionError
from harness.kube.client import api_client, get_raw, server_version
from harness.kube.kubeconfig import write_kubeconfig
from harness.kube.waits import wait_until
from harness.providers.base import Cluster, ProviderCapabilities
from harness.providers.local import commands, pki, ports, process, state
from harness.providers.local.commands import Layout
from harness.toolchain import Toolchain, ToolchainConfig, ensure
from harness.toolchain.sources import ProgressFn, no_progress
from harness.versions import KubeVersion, upgrade_refusal

T = TypeVar("T")

#: Components in start order; upgrades follow it too, and shutdown reverses it.
START_ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")

#: Seconds between SIGTERM and SIGKILL. The apiserver finishes its graceful-termination events
#: within a second, then can sit for 20 s closing idle watch connections; nothing is lost by
#: not waiting for that.
STOP_GRACE = {"kube-apiserver": 3.0}

#: The listeners each component owns (names in the cluster's port table).
COMPONENT_PORTS = {
    "etcd": ("etcd", "etcd-peer"),
    "kube-apiserver": ("apiserver",),
    "kube-controller-manager": ("controller-manager",),
    "kube-scheduler": ("scheduler",),
    "kwok": ("kwok",),
}


def stop_component(record: process.ProcessRecord) -> None:
    process.stop(record, timeout=STOP_GRACE.get(record.component, 10.0))


@dataclass
class Timeouts:
    """Deadlines, in seconds, for the waits of bring-up and upgrade."""

    etcd: float = 60
    apiserver: float = 180
    component: float = 60
    nodes: float = 90
    service_account: float = 90


@dataclass
class StepTimings:
    """Seconds per named step of the last create or upgrade, in order."""

    steps: list[tuple[str, float]] = field(default_factory=list)

    def total(self) -> float:
        return sum(seconds for _, seconds in self.steps)


class LocalProvider:
    """Runs clusters as local processes. Safe to use from several processes at once."""

    name = "local"
    capabilities = ProviderCapabilities(
        real_containers=False,
        ingress_data_path=False,
        in_place_upgrade=True,
        loopback_webhooks=True,
        audit_log=True,
    )

    def __init__(
        self,
        *,
        toolchain: ToolchainConfig | None = None,
        progress: ProgressFn = no_progress,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.toolchain = toolchain
        self.progress = progress
        self.timeouts = timeouts or Timeouts()
        self.last_timings = StepTimings()

    # -- the ClusterProvider protocol -------------------------------------------------

    def available(self) -> str | None:
        return None

    def create(
        self,
        name: str,
        version: KubeVersion,
        nodes: int = 1,
        *,
        keep: bool = False,
        api_port: int | None = None,
    ) -> Cluster:
        """Start a cluster; on any failure (or Ctrl-C) everything it started is removed again.

        ``keep`` makes the cluster outlive this process (as ``cluster up`` does); otherwise
        this process is its owner and ``gc`` removes it once the process is gone.
        """
        state.validate_name(name)
        if not 1 <= nodes <= 100:
            raise InputError(f"--nodes: {nodes} is out of range", hint="choose 1 to 100 simulated nodes")
        if api_port is not None:
            ports.require_free(api_port, "--api-port")
        self.last_timings = StepTimings()
        refuse_existing(name)  # before a possibly long toolchain build
        tools = self._step("toolchain", lambda: ensure(version, config=self.toolchain, progress=self.progress))
        with state.cluster_lock(name):
            refuse_existing(name)
            directory = state.cluster_dir(name)
            directory.mkdir(parents=True, mode=0o700)
            try:
                st = self._reserve(name, directory, tools, nodes, api_port)
                self._bring_up(st, tools)
                st.phase = "ready"
                st.history.append(str(version))
                if keep:
                    st.owner = None
                st.save()
            except BaseException:
                self._teardown_dir(directory)
                raise
        return self._cluster(st)

    def upgrade(self, cluster: Cluster, to_version: KubeVersion, *, force: bool = False) -> Cluster:
        current = cluster.version
        refusal = upgrade_refusal(current, to_version)
        if refusal and not (force and to_version != current):
            raise VersionError(f"upgrade refused: {refusal}", hint="pass --force to override the skew policy")
        self.last_timings = StepTimings()
        tools = self._step("toolchain", lambda: ensure(to_version, config=self.toolchain, progress=self.progress))
        with state.cluster_lock(cluster.name):
            st = state.ClusterState.load(cluster.state_dir)
            if st.version != str(current):
                raise ClusterError(f"cluster {cluster.name} runs {st.version}, not {current}; reload it first")
            st.phase = f"upgrading to {to_version}"
            st.save()
            at = self._layout(st)
            if tools.etcd_version != st.etcd_version:
                self._step(
                    f"etcd {st.etcd_version} -> {tools.etcd_version}",
                    lambda: self._restart_etcd(st, at, tools),
                )
                st.etcd_version = tools.etcd_version
            self._step("kube-apiserver", lambda: self._restart_apiserver(st, at, tools, to_version))
            self._step(
                "kube-controller-manager",
                lambda: self._start_component(
                    st,
                    "kube-controller-manager",
                    commands.kube_controller_manager(tools, at),
                    at,
                    replace=True,
                ),
            )
            self._step(
                "kube-scheduler",
                lambda: self._start_component(
                    st, "kube-scheduler", commands.kube_scheduler(tools, at), at, replace=True
                ),
            )
            self._step("node versions", lambda: self._set_node_versions(at, to_version))
            self._step("ready", lambda: self._wait_ready(st, at))
            st.version = str(to_version)
            st.phase = "ready"
            st.history.append(str(to_version))
            st.save()
        return self._cluster(st)

    def delete(self, cluster: Cluster) -> None:
        self.delete_by_name(cluster.name)

    def delete_by_name(self, name: str) -> None:
        """Stop every process of the cluster, remove its directory; fine if already gone."""
        state.validate_name(name)
        with state.cluster_lock(name):
            directory = state.cluster_dir(name)
            if not directory.exists():
                raise ClusterError(f"no local cluster named {name!r}", hint="see 'spin-harness cluster list'")
            self._teardown_dir(directory)
        state.remove_lock_file(name)

    def kubeconfig(self, cluster: Cluster) -> Path:
        return cluster.kubeconfig

    def get(self, name: str) -> Cluster:
        state.validate_name(name)
        directory = state.cluster_dir(name)
        if not directory.exists():
            raise ClusterError(f"no local cluster named {name!r}", hint="see 'spin-harness cluster list'")
        return self._cluster(state.ClusterState.load(directory))

    def clusters(self) -> list[Cluster]:
        return [self._cluster(st) for st in state.all_states() if isinstance(st, state.ClusterState)]

    def scenario_defaults(self, cluster: Cluster | None = None) -> dict[str, str]:
        return {}

    def service_host(self) -> str:
        return ports.LOOPBACK

    def status(self, cluster: Cluster) -> dict[str, bool]:
        """Which components of the cluster are running right now."""
        st = state.ClusterState.load(cluster.state_dir)
        return {name: process.alive(rec) for name, rec in st.processes.items()}

    def stop_component(self, cluster: Cluster, component: str) -> None:
        """Stop one component (fault injection and tests); the cluster keeps its state."""
        st = state.ClusterState.load(cluster.state_dir)
        record = st.processes.get(component)
        if record is None:
            raise InputError(f"unknown component {component!r}", hint=f"one of {', '.join(st.processes)}")
        stop_component(record)

    # -- bring-up ---------------------------------------------------------------------

    def _step(self, title: str, action: Callable[[], T]) -> T:
        self.progress(f"{title}...")
        started = time.monotonic()
        result = action()
        self.last_timings.steps.append((title, time.monotonic() - started))
        return result

    def _reserve(
        self, name: str, directory: Path, tools: Toolchain, nodes: int, api_port: int | None
    ) -> state.ClusterState:
        with ports.reservation_lock():
            taken = [p for st in state.all_states() if isinstance(st, state.ClusterState) for p in st.ports.values()]
            wanted = [p for p in commands.PORT_NAMES if not (p == "apiserver" and api_port)]
            chosen = dict(zip(wanted, ports.pick_free_ports(len(wanted), taken), strict=True))
            if api_port:
                if api_port in taken:
                    raise InputError(f"--api-port: port {api_port} is reserved by another spin-harness cluster")
                chosen["apiserver"] = api_port
            st = state.ClusterState(
                name=name,
                directory=directory,
                version=str(tools.kubernetes_version),
                etcd_version=tools.etcd_version,
                nodes=nodes,
                ports=chosen,
                owner=state.Owner.current(),
            )
            st.save()
        return st

    def _layout(self, st: state.ClusterState) -> Layout:
        return Layout(st.directory, st.name, pki.ClusterPKI(st.directory / "pki"), st.ports)

    def _bring_up(self, st: state.ClusterState, tools: Toolchain) -> None:
        at = self._layout(st)
        at.logs.mkdir(mode=0o700)
        self._step("pki", lambda: self._write_config(st, at))
        self._step("etcd", lambda: self._start_etcd(st, at, tools))
        self._step("kube-apiserver", lambda: self._start_apiserver(st, at, tools, tools.kubernetes_version))
        self._step(
            "kube-controller-manager",
            lambda: self._start_component(
                st, "kube-controller-manager", commands.kube_controller_manager(tools, at), at
            ),
        )
        self._step(
            "kube-scheduler",
            lambda: self._start_component(st, "kube-scheduler", commands.kube_scheduler(tools, at), at),
        )
        self._step("kwok", lambda: self._start_kwok(st, at, tools))
        self._step("nodes", lambda: self._create_nodes(st, at, tools.kubernetes_version))
        self._step("ready", lambda: self._wait_ready(st, at))

    def _write_config(self, st: state.ClusterState, at: Layout) -> None:
        pki.create_pki(at.pki.directory, st.name)
        identities = {
            "admin": pki.ADMIN,
            "controller-manager": pki.CONTROLLER_MANAGER,
            "scheduler": pki.SCHEDULER,
            "kwok": pki.KWOK,
        }
        for who, identity in identities.items():
            write_kubeconfig(
                at.kubeconfig(who),
                cluster=f"spin-{st.name}",
                server=at.server,
                ca_cert=at.pki.ca_cert,
                client_cert=at.pki.client_cert(identity),
                client_key=at.pki.client_key(identity),
                user=identity.user,
            )
        at.audit_policy.write_text(commands.AUDIT_POLICY)
        stages = resources.files("harness.providers.local").joinpath("kwok-stages.yaml").read_text()
        at.kwok_config.write_text(stages)

    def _launch(self, st: state.ClusterState, component: str, argv: list[str], at: Layout) -> process.ProcessRecord:
        # A replaced component's predecessor may still be closing its listener (slow exit under
        # load); starting before it has would fail with "address already in use".
        for port_name in COMPONENT_PORTS.get(component, ()):
            wait_until(
                f"port {at.ports[port_name]} ({component}) to be free",
                free_port_probe(at.ports[port_name]),
                timeout=self.timeouts.component,
            )
        record = process.start(component, argv, at.logs / f"{component}.log", st.directory)
        st.processes[component] = record
        st.save()
        return record

    def _crash_check(self, record: process.ProcessRecord) -> None:
        if not process.alive(record):
            raise ClusterError(f"{record.component} exited during start-up:\n{log_tail(Path(record.log))}")

    def _start_etcd(self, st: state.ClusterState, at: Layout, tools: Toolchain) -> None:
        record = self._launch(st, "etcd", commands.etcd(tools, at), at)
        url = f"http://127.0.0.1:{at.ports['etcd']}/health"

        def healthy() -> tuple[bool, str]:
            self._crash_check(record)
            with urllib.request.urlopen(url, timeout=2) as response:
                body = response.read().decode()
            return '"health":"true"' in body, body.strip()

        wait_until(f"etcd to answer {url}", healthy, timeout=self.timeouts.etcd)

    def _restart_etcd(self, st: state.ClusterState, at: Layout, tools: Toolchain) -> None:
        # Nothing may write while the store's binary changes; the apiserver restarts next anyway.
        if "kube-apiserver" in st.processes:
            stop_component(st.processes["kube-apiserver"])
        stop_component(st.processes["etcd"])
        self._start_etcd(st, at, tools)

    def _start_apiserver(self, st: state.ClusterState, at: Layout, tools: Toolchain, version: KubeVersion) -> None:
        record = self._launch(st, "kube-apiserver", commands.kube_apiserver(tools, at, version), at)
        api = api_client(at.kubeconfig("admin"))
        try:

            def ready() -> tuple[bool, str]:
                self._crash_check(record)
                status, body = get_raw(api, "/readyz", timeout=3)
                return status == 200, f"/readyz {status}: {body.strip()[-300:]}"

            wait_until("kube-apiserver /readyz", ready, timeout=self.timeouts.apiserver)
            reported = server_version(api).get("gitVersion")
            if reported != str(version):
                raise ClusterError(f"kube-apiserver reports {reported}, expected {version}")
        finally:
            api.close()

    def _restart_apiserver(self, st: state.ClusterState, at: Layout, tools: Toolchain, version: KubeVersion) -> None:
        old = st.processes.get("kube-apiserver")
        if old is not None:
            stop_component(old)
        self._start_apiserver(st, at, tools, version)

    def _start_component(
        self, st: state.ClusterState, component: str, argv: list[str], at: Layout, *, replace: bool = False
    ) -> None:
        if replace and component in st.processes:
            stop_component(st.processes[component])
        record = self._launch(st, component, argv, at)
        port_name = "controller-manager" if component == "kube-controller-manager" else "scheduler"
        url = f"https://127.0.0.1:{at.ports[port_name]}/healthz"
        insecure = ssl.create_default_context()
        # The component serves a self-signed cert it made itself; this health check reads a
        # loopback port we chose and sends nothing secret.
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE

        def healthy() -> tuple[bool, str]:
            self._crash_check(record)
            with urllib.request.urlopen(url, timeout=2, context=insecure) as response:
                body = response.read().decode()
            return body.strip() == "ok", body.strip()

        wait_until(f"{component} {url}", healthy, timeout=self.timeouts.component)

    def _start_kwok(self, st: state.ClusterState, at: Layout, tools: Toolchain) -> None:
        record = self._launch(st, "kwok", commands.kwok(tools, at), at)
        url = f"http://127.0.0.1:{at.ports['kwok']}/healthz"

        def healthy() -> tuple[bool, str]:
            self._crash_check(record)
            with urllib.request.urlopen(url, timeout=2) as response:
                body = response.read().decode()
            return response.status == 200, body.strip()

        wait_until(f"kwok {url}", healthy, timeout=self.timeouts.component)

    def _create_nodes(self, st: state.ClusterState, at: Layout, version: KubeVersion) -> None:
        with contextlib.closing(api_client(at.kubeconfig("admin"))) as api:
            core = client.CoreV1Api(api)
            for index in range(st.nodes):
                core.create_node(node_manifest(f"node-{index}", version))

    def _set_node_versions(self, at: Layout, version: KubeVersion) -> None:
        with contextlib.closing(api_client(at.kubeconfig("admin"))) as api:
            core = client.CoreV1Api(api)
            selector = f"{commands.SIMULATED_NODE_LABEL}=true"
            for node in core.list_node(label_selector=selector).items:
                patch = {"status": {"nodeInfo": {"kubeletVersion": str(version), "kubeProxyVersion": str(version)}}}
                core.patch_node_status(node.metadata.name, patch)

    def _wait_ready(self, st: state.ClusterState, at: Layout) -> None:
        with contextlib.closing(api_client(at.kubeconfig("admin"))) as api:
            core = client.CoreV1Api(api)

            def nodes_ready() -> tuple[bool, str]:
                for name, record in st.processes.items():
                    if not process.alive(record):
                        raise ClusterError(f"{name} is not running:\n{log_tail(Path(record.log))}")
                items = core.list_node().items
                ready = [n.metadata.name for n in items if node_is_ready(n)]
                detail = f"{len(ready)}/{st.nodes} nodes Ready"
                return len(ready) >= st.nodes, detail

            wait_until("all nodes Ready", nodes_ready, timeout=self.timeouts.nodes)

            def default_sa() -> tuple[bool, str]:
                names = [sa.metadata.name for sa in core.list_namespaced_service_account("default").items]
                return "default" in names, f"service accounts in default: {names}"

            wait_until("the default ServiceAccount", default_sa, timeout=self.timeouts.service_account)

    # -- teardown ---------------------------------------------------------------------

    def _teardown_dir(self, directory: Path) -> None:
        teardown(directory)

    def _cluster(self, st: state.ClusterState) -> Cluster:
        at = self._layout(st)
        return Cluster(
            name=st.name,
            provider=self.name,
            version=KubeVersion.parse(st.version),
            kubeconfig=at.kubeconfig("admin"),
            state_dir=st.directory,
            nodes=st.nodes,
            logs={name: Path(rec.log) for name, rec in st.processes.items()},
            audit_log=at.audit_log,
        )


def free_port_probe(port: int) -> Callable[[], tuple[bool, str]]:
    return lambda: (ports.port_is_free(port), f"127.0.0.1:{port} still in use")


def refuse_existing(name: str) -> None:
    directory = state.cluster_dir(name)
    if directory.exists():
        raise InputError(
            f"a cluster named {name!r} already exists ({directory})",
            hint=f"choose another --name, or remove it with 'spin-harness cluster down {name}'",
        )


def teardown(directory: Path) -> None:
    """Stop every process of the cluster at ``directory`` and delete the directory.

    Works from the recorded processes and, for anything a crash kept out of the record, from
    the environment mark every component carries. Safe to call on a half-created cluster.
    """
    try:
        st = state.ClusterState.load(directory)
        records = [st.processes[c] for c in reversed(START_ORDER) if c in st.processes]
    except ClusterError:
        records = []
    for record in records:
        stop_component(record)
    for stray in process.marked_processes(directory):
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate_tree(stray, timeout=5)
    shutil.rmtree(directory, ignore_errors=True)


def node_manifest(name: str, version: KubeVersion) -> dict[str, object]:
    """A simulated node: kwok manages it (label) and reports ``version`` as its kubelet."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                commands.SIMULATED_NODE_LABEL: "true",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "kwok",
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {},
        "status": {
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "nodeInfo": {
                "architecture": "amd64",
                "kubeletVersion": str(version),
                "kubeProxyVersion": str(version),
                "operatingSystem": "linux",
                "containerRuntimeVersion": "kwok",
                "kernelVersion": "kwok",
                "osImage": "kwok",
                "bootID": "",
                "machineID": "",
                "systemUUID": "",
            },
        },
    }


def node_is_ready(node: client.V1Node) -> bool:
    conditions = (node.status.conditions if node.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(f"  | {line}" for line in text[-lines:])
