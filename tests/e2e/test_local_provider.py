"""The local provider against real control planes built from Kubernetes source."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from kubernetes import client

from harness.errors import ClusterError
from harness.kube.client import api_client, server_version
from harness.kube.waits import wait_until
from harness.plugin import ClusterFactory
from harness.providers.local import LocalProvider, commands, process
from harness.providers.local import state as cluster_state
from harness.versions import KubeVersion

pytestmark = pytest.mark.e2e


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def cluster_pids_and_ports(directory: Path) -> tuple[list[int], list[int]]:
    st = cluster_state.ClusterState.load(directory)
    return [r.pid for r in st.processes.values()], list(st.ports.values())


def assert_nothing_left(directory: Path, pids: list[int], ports: list[int]) -> None:
    assert not directory.exists(), f"{directory} is still there"
    alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"component processes still running: {alive}"
    busy = [p for p in ports if port_in_use(p)]
    assert not busy, f"ports still listening: {busy}"


@pytest.mark.parametrize("which", [0, 1], ids=["older", "newer"])
def test_server_reports_exactly_the_requested_version(
    cluster_factory: ClusterFactory, e2e_versions: tuple[KubeVersion, KubeVersion], which: int
) -> None:
    version = e2e_versions[which]
    cluster = cluster_factory.create(version)
    with contextlib.closing(api_client(cluster.kubeconfig)) as api:
        reported = server_version(api)
    assert reported["gitVersion"] == str(version)
    assert reported["minor"] == str(version.minor)
    nodes = client.CoreV1Api(api_client(cluster.kubeconfig)).list_node().items
    assert [n.status.node_info.kubelet_version for n in nodes] == [str(version)]


def test_files_are_private_and_listeners_loopback(
    cluster_factory: ClusterFactory, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    cluster = cluster_factory.create(e2e_versions[1])
    for secret in [
        cluster.kubeconfig,
        *cluster.state_dir.glob("*.kubeconfig"),
        *cluster.state_dir.glob("pki/*.key"),
    ]:
        assert secret.stat().st_mode & 0o777 == 0o600, secret
    st = cluster_state.ClusterState.load(cluster.state_dir)
    for record in st.processes.values():
        for conn in psutil.Process(record.pid).net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN:
                assert conn.laddr.ip in ("127.0.0.1", "::1"), f"{record.component} listens on {conn.laddr}"


def test_deployment_runs_and_job_completes_on_simulated_nodes(
    cluster_factory: ClusterFactory, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    cluster = cluster_factory.create(e2e_versions[0], nodes=2)
    api = api_client(cluster.kubeconfig)
    apps, core, batch = client.AppsV1Api(api), client.CoreV1Api(api), client.BatchV1Api(api)
    labels = {"app": "web"}
    apps.create_namespaced_deployment(
        "default",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]},
                },
            },
        },
    )
    batch.create_namespaced_job(
        "default",
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "once"},
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "c", "image": "registry.invalid/job:1"}],
                    }
                }
            },
        },
    )

    def pods_running() -> tuple[bool, str]:
        pods = core.list_namespaced_pod("default", label_selector="app=web").items
        phases = sorted(p.status.phase or "?" for p in pods)
        return phases == ["Running"] * 3 and all(p.spec.node_name for p in pods), f"phases {phases}"

    wait_until("3 web pods Running", pods_running, timeout=60)
    deployment = apps.read_namespaced_deployment("web", "default")
    wait_until(
        "deployment available",
        lambda: (
            (apps.read_namespaced_deployment("web", "default").status.available_replicas or 0) == 3,
            "available",
        ),
        timeout=60,
    )
    assert deployment.metadata.uid

    def job_complete() -> tuple[bool, str]:
        conditions = batch.read_namespaced_job("once", "default").status.conditions or []
        return any(c.type == "Complete" and c.status == "True" for c in conditions), str(
            [(c.type, c.status) for c in conditions]
        )

    wait_until("job Complete", job_complete, timeout=90)


def test_upgrade_keeps_every_object_and_moves_versions(
    cluster_factory: ClusterFactory, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    older, newer = e2e_versions
    cluster = cluster_factory.create(older, nodes=2)
    api = api_client(cluster.kubeconfig)
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": "tenant-a"}})
    core.create_namespaced_config_map("tenant-a", {"metadata": {"name": "settings"}, "data": {"k": "v"}})
    core.create_namespaced_service_account("tenant-a", {"metadata": {"name": "runner"}})
    before = {
        (o.kind or kind, o.metadata.namespace, o.metadata.name): o.metadata.uid
        for kind, items in (
            ("Namespace", core.list_namespace().items),
            ("ConfigMap", core.list_namespaced_config_map("tenant-a").items),
            ("ServiceAccount", core.list_namespaced_service_account("tenant-a").items),
            ("Node", core.list_node().items),
        )
        for o in items
    }
    provider = LocalProvider()
    upgraded = provider.upgrade(cluster, newer)
    assert upgraded.version == newer

    api = api_client(cluster.kubeconfig)
    core = client.CoreV1Api(api)
    assert server_version(api)["gitVersion"] == str(newer)
    after = {
        (o.kind or kind, o.metadata.namespace, o.metadata.name): o.metadata.uid
        for kind, items in (
            ("Namespace", core.list_namespace().items),
            ("ConfigMap", core.list_namespaced_config_map("tenant-a").items),
            ("ServiceAccount", core.list_namespaced_service_account("tenant-a").items),
            ("Node", core.list_node().items),
        )
        for o in items
    }
    missing = {k: v for k, v in before.items() if after.get(k) != v}
    assert not missing, f"objects lost or recreated by the upgrade: {missing}"
    assert core.read_namespaced_config_map("settings", "tenant-a").data == {"k": "v"}
    assert {n.status.node_info.kubelet_version for n in core.list_node().items} == {str(newer)}


def test_down_leaves_no_process_port_or_directory(e2e_versions: tuple[KubeVersion, KubeVersion]) -> None:
    provider = LocalProvider()
    cluster = provider.create("down-check", e2e_versions[1])
    pids, ports = cluster_pids_and_ports(cluster.state_dir)
    assert all(port_in_use(p) for p in (cluster_state.ClusterState.load(cluster.state_dir).ports["apiserver"],))
    provider.delete(cluster)
    assert_nothing_left(cluster.state_dir, pids, ports)


def test_a_component_failing_while_others_start_beside_it_fails_create_and_leaves_nothing(
    e2e_versions: tuple[KubeVersion, KubeVersion], monkeypatch: pytest.MonkeyPatch
) -> None:
    """kwok starts together with the controller-manager, the scheduler and the readiness waits;
    its exit must end them all at once, name kwok with its log, and remove every process."""
    real_kwok = commands.kwok
    monkeypatch.setattr(commands, "kwok", lambda tools, at: [*real_kwok(tools, at), "--no-such-flag"])
    directory = cluster_state.cluster_dir("kwok-fails")
    with pytest.raises(ClusterError, match=r"kwok (exited during start-up|is not running)(.|\n)*no-such-flag"):
        LocalProvider().create("kwok-fails", e2e_versions[1])
    assert not directory.exists()
    assert process.marked_processes(directory) == []


def test_gc_cleans_up_after_the_owner_is_killed(e2e_versions: tuple[KubeVersion, KubeVersion]) -> None:
    script = (
        "import sys, time\n"
        "from harness.providers.local import LocalProvider\n"
        "from harness.versions import KubeVersion\n"
        f"c = LocalProvider().create('orphan', KubeVersion.parse('{e2e_versions[0]}'))\n"
        "print(c.state_dir, flush=True)\n"
        "time.sleep(600)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        directory = Path(owner.stdout.readline().strip())
        assert directory.is_dir(), "the owner did not create its cluster"
        pids, ports = cluster_pids_and_ports(directory)
    finally:
        owner.kill()  # SIGKILL: no cleanup code in the owner runs
        owner.wait()
    time.sleep(0.2)
    assert directory.exists(), "the cluster should outlive its killed owner until gc runs"
    result = subprocess.run([sys.executable, "-m", "harness.cli", "gc"], capture_output=True, text=True, check=True)
    assert "removed cluster orphan" in result.stdout
    assert_nothing_left(directory, pids, ports)
