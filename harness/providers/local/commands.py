"""Command lines of a local cluster's components.

Kept apart from the provider so the flags (which change between Kubernetes minors) are in
one place and easy to read against the upstream docs. Every listener binds 127.0.0.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.providers.local.pki import ClusterPKI
from harness.toolchain import Component
from harness.versions import KubeVersion

if TYPE_CHECKING:
    from harness.toolchain import Toolchain

SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"

#: Client-side request rate of the controller-manager and the scheduler (requests/s, burst).
CLIENT_QPS = 500
CLIENT_BURST = 1000

#: Admission plugins beyond the defaults: the webhook plugins and PodSecurity the platform
#: relies on are listed explicitly so a change of defaults cannot silently drop them.
ADMISSION_PLUGINS = (
    "NodeRestriction",
    "PodSecurity",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionWebhook",
    "ValidatingAdmissionPolicy",
    "ResourceQuota",
    "LimitRanger",
)


@dataclass(frozen=True)
class Layout:
    """Files and ports of one cluster, as the command lines need them."""

    directory: Path
    name: str
    pki: ClusterPKI
    ports: dict[str, int]

    @property
    def etcd_data(self) -> Path:
        return self.directory / "etcd"

    @property
    def logs(self) -> Path:
        return self.directory / "logs"

    @property
    def audit_log(self) -> Path:
        return self.logs / "audit.log"

    @property
    def audit_policy(self) -> Path:
        return self.directory / "audit-policy.yaml"

    def kubeconfig(self, who: str) -> Path:
        """``admin`` is the user's kubeconfig; components get their own identities."""
        return self.directory / ("kubeconfig" if who == "admin" else f"{who}.kubeconfig")

    @property
    def kwok_config(self) -> Path:
        return self.directory / "kwok.yaml"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"


def etcd(tools: Toolchain, at: Layout) -> list[str]:
    client = f"http://127.0.0.1:{at.ports['etcd']}"
    peer = f"http://127.0.0.1:{at.ports['etcd-peer']}"
    return [
        str(tools[Component.ETCD]),
        f"--name={at.name}",
        f"--data-dir={at.etcd_data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster={at.name}={peer}",
        "--initial-cluster-state=new",
        # Test clusters trade durability for speed, as kwokctl and the upstream integration tests do.
        "--unsafe-no-fsync",
        "--quota-backend-bytes=2147483648",
        "--log-level=warn",
    ]


def kube_apiserver(tools: Toolchain, at: Layout, version: KubeVersion) -> list[str]:
    return [
        str(tools[Component.KUBE_APISERVER]),
        f"--etcd-servers=http://127.0.0.1:{at.ports['etcd']}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        # The "kubernetes" Service's endpoints would point at loopback, which Endpoints reject.
        "--endpoint-reconciler-type=none",
        f"--secure-port={at.ports['apiserver']}",
        f"--cert-dir={at.directory / 'apiserver-certs'}",
        f"--tls-cert-file={at.pki.serving_cert}",
        f"--tls-private-key-file={at.pki.serving_key}",
        f"--client-ca-file={at.pki.ca_cert}",
        f"--service-account-issuer={SA_ISSUER}",
        f"--service-account-key-file={at.pki.sa_pub}",
        f"--service-account-signing-key-file={at.pki.sa_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=Node,RBAC",
        f"--enable-admission-plugins={','.join(ADMISSION_PLUGINS)}",
        "--allow-privileged=true",
        f"--audit-policy-file={at.audit_policy}",
        f"--audit-log-path={at.audit_log}",
        "--audit-log-maxsize=100",
        "--audit-log-maxbackup=2",
        "--profiling=false",
        "--v=1",
    ]


def kube_controller_manager(tools: Toolchain, at: Layout) -> list[str]:
    kubeconfig = at.kubeconfig("controller-manager")
    return [
        str(tools[Component.KUBE_CONTROLLER_MANAGER]),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={at.ports['controller-manager']}",
        f"--cert-dir={at.directory / 'controller-manager-certs'}",
        f"--service-account-private-key-file={at.pki.sa_key}",
        f"--root-ca-file={at.pki.ca_cert}",
        f"--cluster-signing-cert-file={at.pki.ca_cert}",
        f"--cluster-signing-key-file={at.pki.ca_key}",
        "--use-service-account-credentials=true",
        # Client-side rate limits (20/s by default) are for sharing a big apiserver; here they
        # only slow start-up, where every controller first fetches its own credentials.
        f"--kube-api-qps={CLIENT_QPS}",
        f"--kube-api-burst={CLIENT_BURST}",
        # A claim created right after its volume can miss it in the controller's cache; it is then
        # bound at the next resync, every 15 s by default, which made binds take 0-15 s at random.
        "--pvclaimbinder-sync-period=2s",
        f"--cluster-name={at.name}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--leader-elect=false",
        "--profiling=false",
        "--v=1",
    ]


def kube_scheduler(tools: Toolchain, at: Layout) -> list[str]:
    kubeconfig = at.kubeconfig("scheduler")
    return [
        str(tools[Component.KUBE_SCHEDULER]),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={at.ports['scheduler']}",
        f"--cert-dir={at.directory / 'scheduler-certs'}",
        f"--kube-api-qps={CLIENT_QPS}",
        f"--kube-api-burst={CLIENT_BURST}",
        "--leader-elect=false",
        "--profiling=false",
        "--v=1",
    ]


#: Label on the Node objects kwok manages; nodes without it are left alone.
SIMULATED_NODE_LABEL = "spin-harness.io/simulated"


def kwok(tools: Toolchain, at: Layout) -> list[str]:
    return [
        str(tools[Component.KWOK]),
        f"--kubeconfig={at.kubeconfig('kwok')}",
        f"--config={at.kwok_config}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-label-selector={SIMULATED_NODE_LABEL}=true",
        "--node-ip=127.0.0.1",
        f"--cidr={POD_CIDR}",
        f"--server-address=127.0.0.1:{at.ports['kwok']}",
    ]


PORT_NAMES = ("etcd", "etcd-peer", "apiserver", "controller-manager", "scheduler", "kwok")
