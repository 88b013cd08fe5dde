"""Pod networking of a kind cluster: the bridge CNI plugin on every node, routes between nodes.

kind's own images run kindnetd for this; spin-harness nodes carry Debian's CNI plugins
instead, and the harness does what kindnetd would: once the controller-manager has given a
node its pod CIDR, write that node's bridge configuration (containerd picks it up and the
node turns Ready), add a route to every other node's pod CIDR through that node, and
masquerade what pods send outside the cluster's pod network (to the host, say).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from python_on_whales import DockerClient

CONFLIST_PATH = "/etc/cni/net.d/10-spin-harness.conflist"

#: kind's default pod subnet, which the controller-manager carves node pod CIDRs from.
POD_SUBNET = "10.244.0.0/16"


@dataclass(frozen=True)
class NodeNetwork:
    container: str  # the node's container name
    address: str  # its InternalIP on the kind network
    pod_cidr: str


def bridge_conflist(pod_cidr: str) -> str:
    """The CNI configuration of one node: a bridge with host-local addresses from its pod CIDR."""
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": "spin-harness",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": "cni0",
                    "isGateway": True,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": pod_cidr}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        },
        indent=2,
    )


def node_script(node: NodeNetwork, peers: list[NodeNetwork], pod_subnet: str = POD_SUBNET) -> str:
    """Shell run in ``node``: routes to the peers' pod CIDRs, masquerading, then the CNI config."""
    lines = ["set -eu"]
    lines += [f"ip route replace {peer.pod_cidr} via {peer.address}" for peer in peers]
    rule = f"POSTROUTING -s {pod_subnet} ! -d {pod_subnet} -m comment --comment spin-harness-pods -j MASQUERADE"
    lines.append(f"iptables -t nat -C {rule} 2>/dev/null || iptables -t nat -A {rule}")
    lines.append("mkdir -p /etc/cni/net.d")
    lines.append(f"cat > {CONFLIST_PATH}.tmp <<'EOF'\n{bridge_conflist(node.pod_cidr)}\nEOF")
    lines.append(f"mv {CONFLIST_PATH}.tmp {CONFLIST_PATH}")
    return "\n".join(lines)


def configure(docker: DockerClient, nodes: list[NodeNetwork]) -> None:
    """Configure pod networking on every node (idempotent: safe after an upgrade or a restart)."""
    for node in nodes:
        peers = [peer for peer in nodes if peer.container != node.container]
        docker.container.execute(node.container, ["bash", "-c", node_script(node, peers)])
