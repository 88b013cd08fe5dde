"""The kind cluster configuration, rendered from ``cluster.yaml.j2`` (jinja2).

What goes in is what spin-harness needs of a kind cluster beyond kind's defaults: the
apiserver on loopback at a reserved port, the global filesystem mounted on every node, the
ingress controller's HTTPS port published on loopback, the audit log written where the
harness reads it, and on cgroup v1 hosts the kubelet setting without which kubelets from
1.35 refuse to start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import yaml

from harness.versions import KubeVersion

TEMPLATE = Path(__file__).with_name("cluster.yaml.j2")

#: Where tenant pods find the centre's global filesystem on every node (the scenarios' default).
GLOBAL_FS_ROOT = "/global/cfs/projects"

#: The NodePort the ingress controller's HTTPS Service uses, published on the host's loopback.
INGRESS_NODE_PORT = 30443

#: Where the control-plane node finds spin-harness's kubeadm patches, for ``kubeadm init`` and
#: every ``kubeadm upgrade apply`` (``--patches``).
KUBEADM_PATCHES = "/kind/spin-harness-patches"

#: The control plane's static pods, as kubeadm makes them (``kubeadm init`` and every
#: ``kubeadm upgrade apply``).
CONTROL_PLANE_COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")

#: Every static pod's startup probe looks every second from the container's start instead of
#: kubeadm's every ten after ten. The kubelet reports a static pod Ready only after its startup
#: probe has passed: with kubeadm's probe a component that was up in a second showed Ready
#: 10-20 s later, and a create waits for every kube-system pod to be Ready. A component that
#: never answers is restarted after 250 s, as with kubeadm's (10 s + 24 tries x 10 s); one whose
#: probe hangs, after 250 tries of 5 s each (kubeadm's: 24 of 15 s). The liveness and readiness
#: probes stay as kubeadm makes them.
STARTUP_PROBE = {"initialDelaySeconds": 0, "periodSeconds": 1, "timeoutSeconds": 5, "failureThreshold": 250}

#: The apiserver's static pod. Once it has drained its requests on SIGTERM (milliseconds here),
#: the apiserver waits for its idle watch connections until the kubelet kills it, at the pod's
#: grace period, 30 s by default: a test cluster's single apiserver spent that long gone on
#: every restart of an upgrade (twice per hop: kubeadm's, then the new kubelet's). The local
#: provider kills it as soon as its log says it has drained, for the same reason.
APISERVER_GRACE_PERIOD = 5


#: CoreDNS's readiness probe looks every second instead of every ten, and still takes 30 s of
#: failures to take a replica out (kubeadm's: 3 of 10 s). A new replica is up in about a second,
#: but its first look, at its start, finds it not ready yet, and the next came ten seconds later:
#: a create waits for CoreDNS to be Ready.
COREDNS_READINESS_PROBE = {"periodSeconds": 1, "failureThreshold": 30}


def kubeadm_patches() -> dict[str, str]:
    """kubeadm's patch files (strategic merge, by file name): the static pods and CoreDNS."""
    patches = {}
    for component in CONTROL_PLANE_COMPONENTS:
        spec: dict[str, object] = {"containers": [{"name": component, "startupProbe": dict(STARTUP_PROBE)}]}
        if component == "kube-apiserver":
            spec["terminationGracePeriodSeconds"] = APISERVER_GRACE_PERIOD
        patches[f"{component}+strategic.yaml"] = yaml.safe_dump({"spec": spec}, sort_keys=False)
    coredns = {"containers": [{"name": "coredns", "readinessProbe": dict(COREDNS_READINESS_PROBE)}]}
    patches["corednsdeployment+strategic.yaml"] = yaml.safe_dump(
        {"spec": {"template": {"spec": coredns}}}, sort_keys=False
    )
    return patches


@dataclass(frozen=True)
class KindClusterConfig:
    name: str
    image: str
    version: KubeVersion
    nodes: int
    api_port: int
    ingress_port: int
    global_fs_host: Path
    audit_policy_host: Path
    audit_dir_host: Path
    patches_host: Path
    cgroup_v1: bool
    global_fs_root: str = GLOBAL_FS_ROOT
    apiserver_args: dict[str, str] = field(
        default_factory=lambda: {
            "audit-log-path": "/var/log/kubernetes/audit.log",
            "audit-policy-file": "/etc/kubernetes/audit-policy.yaml",
            "audit-log-maxsize": "50",
        }
    )

    @property
    def roles(self) -> list[str]:
        return ["control-plane", *["worker"] * (self.nodes - 1)]

    @property
    def kubeadm_api(self) -> str:
        """The kubeadm config version kind writes for this Kubernetes version."""
        return "v1beta4" if self.version.minor >= 31 else "v1beta3"

    def render(self) -> str:
        env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        text = env.from_string(TEMPLATE.read_text()).render(
            name=self.name,
            image=self.image,
            roles=self.roles,
            api_port=self.api_port,
            ingress_port=self.ingress_port,
            ingress_node_port=INGRESS_NODE_PORT,
            global_fs_host=self.global_fs_host,
            global_fs_root=self.global_fs_root,
            audit_policy_host=self.audit_policy_host,
            audit_dir_host=self.audit_dir_host,
            patches_host=self.patches_host,
            patches_dir=KUBEADM_PATCHES,
            cgroup_v1=self.cgroup_v1,
            kubeadm_api=self.kubeadm_api,
            apiserver_args=self.apiserver_args,
        )
        yaml.safe_load(text)  # a template error shows here, not as kind's parse error
        return text
