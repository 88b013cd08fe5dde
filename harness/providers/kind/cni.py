"""The pod network of a kind cluster made of spin-harness node images (which bring no CNI).

kind's own node images run kindnetd; spin-harness's run none, and get a bridge per node plus
routes to every other node's pod CIDR (``network``) once the nodes have their CIDRs.
"""

from __future__ import annotations

import contextlib

from kubernetes import client

from harness.errors import ClusterError
from harness.images import engine
from harness.kube.client import api_client
from harness.kube.waits import wait_until
from harness.providers.kind import network
from harness.providers.kind.nodes import exec_in
from harness.providers.kind.state import KindState


def brings_own_cni(st: KindState) -> bool:
    """kind's own images run kindnetd from /kind/manifests/default-cni.yaml; spin-harness's run none."""
    manifest = exec_in(f"{st.name}-control-plane", ["cat", "/kind/manifests/default-cni.yaml"])
    return "spin-harness-cni" not in manifest


def configure_pod_network(st: KindState, timeout: float) -> None:
    with contextlib.closing(api_client(st.kubeconfig)) as api:
        core = client.CoreV1Api(api)

        def cidrs() -> tuple[bool, str]:
            items = core.list_node().items
            missing = [n.metadata.name for n in items if not n.spec.pod_cidr]
            return len(items) >= st.nodes and not missing, f"{len(items)} nodes, without pod CIDR: {missing}"

        wait_until("every node's pod CIDR", cidrs, timeout=timeout)
        nodes = [network.NodeNetwork(n.metadata.name, _internal_ip(n), n.spec.pod_cidr) for n in core.list_node().items]
    network.configure(engine.docker_client(), nodes)


def _internal_ip(node: client.V1Node) -> str:
    for address in node.status.addresses or []:
        if address.type == "InternalIP":
            return str(address.address)
    raise ClusterError(f"node {node.metadata.name} has no InternalIP")
