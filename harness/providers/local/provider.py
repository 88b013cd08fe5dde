"""The local provider: Kubernetes control planes as processes on 127.0.0.1, nodes from kwok.

Everything the API server decides (RBAC, admission, webhooks, quotas, storage versions,
discovery) is real upstream code; only kubelets are simulated. Upgrades swap binaries over the
same etcd data, in the order the upstream skew policy prescribes: etcd (when its version
changes), kube-apiserver, kube-controller-manager, kube-scheduler, then the nodes' kubelet
version.

Bring-up starts what does not depend on each other together (``bringup.py``); upgrade is an
ordered list of named steps. Each step reports progress and its duration, which the reports
show as timings per phase.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from harness.errors import ClusterError, InputError, VersionError
from harness.providers.base import Cluster, ClusterRow, Garbage, ProviderCapabilities, UpgradeAction
from harness.providers.common import ports
from harness.providers.common.recorded import RecordedClusters, record_row
from harness.providers.common.steps import StepTimings, timed_step
from harness.providers.local import commands, pki, process, state
from harness.providers.local.commands import Layout
from harness.providers.local.timeouts import Timeouts
from harness.toolchain.sources import ProgressFn, no_progress
from harness.versions import KubeVersion, upgrade_refusal

if TYPE_CHECKING:
    from harness.toolchain import Toolchain, ToolchainConfig

# Listing clusters, a plan or a kubeconfig (the playbook's cheap steps, one process each) reads
# the clusters' records only: the Kubernetes client, the toolchain and the bring-up and upgrade
# machinery are imported by the methods that use them.

T = TypeVar("T")

#: The local provider's one upgrade action: its steps hold the cluster's lock throughout.
CONTROL_PLANE_AND_NODES = "control-plane-and-nodes"


class LocalProvider(RecordedClusters[state.ClusterState]):
    """Runs clusters as local processes. Safe to use from several processes at once."""

    name = "local"
    capabilities = ProviderCapabilities(
        real_containers=False,
        ingress_data_path=False,
        in_place_upgrade=True,
        loopback_webhooks=True,
        audit_log=True,
        background_create=True,
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
        from harness.toolchain.ensure import ensure

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

    def toolchain_cached(self, version: KubeVersion) -> bool:
        """Whether ``create`` at ``version`` would find its binaries built (checks, never builds)."""
        from harness.toolchain.ensure import cached

        return cached(version, config=self.toolchain)

    def upgrade(self, cluster: Cluster, to_version: KubeVersion, *, force: bool = False) -> Cluster:
        from harness.providers.common.upgrade_plan import execute_plan

        return execute_plan(self, cluster, to_version, force=force, progress=self.progress)

    def upgrade_plan(self, cluster: Cluster, to_version: KubeVersion) -> builtins.list[UpgradeAction]:
        """One action: the components restart in skew-policy order under the cluster's lock."""
        return [UpgradeAction(CONTROL_PLANE_AND_NODES)]

    def upgrade_action(
        self, cluster: Cluster, to_version: KubeVersion, action: UpgradeAction, *, force: bool = False
    ) -> str:
        if action.name != CONTROL_PLANE_AND_NODES or action.node is not None:
            raise InputError(f"the local provider has no upgrade action {action}", hint=CONTROL_PLANE_AND_NODES)
        from harness.providers.local.upgrade import hop_toolchain, upgrade_in_place

        current = cluster.version
        refusal = upgrade_refusal(current, to_version)
        if refusal and not (force and to_version != current):
            raise VersionError(f"upgrade refused: {refusal}", hint="pass --force to override the skew policy")
        self.last_timings = StepTimings()
        tools = self._step("toolchain", lambda: hop_toolchain(to_version, self.toolchain, self.progress))
        with state.cluster_lock(cluster.name):
            st = state.ClusterState.load(cluster.state_dir)
            if st.version != str(current):
                raise ClusterError(f"cluster {cluster.name} runs {st.version}, not {current}; reload it first")
            st.phase = f"upgrading to {to_version}"
            st.save()
            at = self._layout(st)
            upgrade_in_place(
                st, at, tools, to_version, self.timeouts, step=self._step, wait_ready=lambda: self._wait_ready(st, at)
            )
            st.version = str(to_version)
            st.phase = "ready"
            st.history.append(str(to_version))
            st.save()
        return f"{cluster.name}: control plane and nodes at {to_version}"

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

    def garbage(self, everything: bool = False) -> builtins.list[Garbage]:
        from harness.providers.local.garbage import local_garbage

        return local_garbage(everything=everything)

    def scenario_defaults(self, cluster: Cluster | None = None) -> dict[str, str]:
        return {}

    def service_host(self) -> str:
        return ports.LOOPBACK

    def status(self, cluster: Cluster) -> dict[str, bool]:
        """Which components of the cluster are running right now."""
        st = state.ClusterState.load(cluster.state_dir)
        return {name: process.alive(rec) for name, rec in st.processes.items()}

    def component_pids(self, cluster: Cluster) -> dict[str, int]:
        st = state.ClusterState.load(cluster.state_dir)
        return {name: record.pid for name, record in st.processes.items()}

    def stop_component(self, cluster: Cluster, component: str) -> None:
        """Stop one component (fault injection and tests); the cluster keeps its state."""
        st = state.ClusterState.load(cluster.state_dir)
        record = st.processes.get(component)
        if record is None:
            raise InputError(f"unknown component {component!r}", hint=f"one of {', '.join(st.processes)}")
        from harness.providers.local.components import stop_component

        stop_component(record)

    # -- bring-up ---------------------------------------------------------------------

    def _step(self, title: str, action: Callable[[], T]) -> T:
        return timed_step(title, action, progress=self.progress, timings=self.last_timings)

    def _reserve(
        self, name: str, directory: Path, tools: Toolchain, nodes: int, api_port: int | None
    ) -> state.ClusterState:
        with ports.reservation_lock():
            taken = ports.recorded_ports()
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
        from harness.providers.local.bringup import BringUp
        from harness.providers.local.components import Components

        at = self._layout(st)
        bring_up = BringUp(st, at, Components(st, at, self.timeouts), self.progress)
        try:
            bring_up(tools)
        finally:
            self.last_timings.steps.extend(bring_up.timings.steps)

    def _wait_ready(self, st: state.ClusterState, at: Layout) -> None:
        from kubernetes import client

        from harness.kube.client import api_client
        from harness.kube.waits import wait_until
        from harness.providers.common.logs import log_tail
        from harness.providers.common.readiness import node_is_ready, wait_default_service_account

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

            self.progress(f"{st.nodes} node(s) Ready...")
            wait_until("all nodes Ready", nodes_ready, timeout=self.timeouts.nodes)
            self.progress("the default ServiceAccount...")
            wait_default_service_account(core, timeout=self.timeouts.service_account)

    # -- teardown ---------------------------------------------------------------------

    def _teardown_dir(self, directory: Path) -> None:
        from harness.providers.local.garbage import teardown

        teardown(directory)

    def _cluster_dir(self, name: str) -> Path:
        return state.cluster_dir(name)

    def _load(self, directory: Path) -> state.ClusterState:
        return state.ClusterState.load(directory)

    def _all_states(self) -> builtins.list[state.ClusterState | Path]:
        return state.all_states()

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

    def _row(self, st: state.ClusterState) -> ClusterRow:
        return record_row(self.name, st, api_port=st.ports.get("apiserver"), kubeconfig=st.directory / "kubeconfig")


def refuse_existing(name: str) -> None:
    directory = state.cluster_dir(name)
    if directory.exists():
        raise InputError(
            f"a cluster named {name!r} already exists ({directory})",
            hint=f"choose another --name, or remove it with 'spin-harness cluster down {name}'",
        )


__all__ = ["LocalProvider"]
