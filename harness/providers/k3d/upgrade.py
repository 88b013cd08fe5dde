"""The in-place upgrade of a k3d cluster, k3s's way: each node container replaced by one of the newer image.

Servers first, then agents, as k3s's upgrade documentation orders them; the load balancer
stays. Each replacement takes over the old container's volumes (``/var/lib/rancher/k3s`` holds
the datastore), network, environment and labels. ``finish`` records the version once every
node runs the new image and imports k3s's system images again (a newer k3s may name others).
"""

from __future__ import annotations

import json

from harness.errors import ClusterError, InputError
from harness.providers.base import UpgradeAction
from harness.providers.k3d.commands import K3dNode, Runner, replacement_commands

REPLACE = "replace"
FINISH = "finish"


def upgrade_plan(nodes: list[K3dNode]) -> list[UpgradeAction]:
    """A ``replace`` per server, then per agent, then ``finish``."""
    upgraded = [n for n in nodes if n.role in ("server", "agent")]
    return [*(UpgradeAction(REPLACE, n.name) for n in upgraded), UpgradeAction(FINISH)]


def replace_node(run: Runner, node: str, image: str, suffix: str) -> bool:
    """Replace ``node``'s container by one of ``image``; False when it already runs ``image``."""
    try:
        inspected = json.loads(run(["docker", "container", "inspect", node], timeout=60))[0]
    except (ValueError, IndexError, KeyError) as exc:
        raise ClusterError(f"docker container inspect {node} printed what this harness cannot read: {exc}") from None
    if (inspected.get("Config") or {}).get("Image") == image:
        return False
    role = ((inspected.get("Config") or {}).get("Labels") or {}).get("k3d.role")
    if role not in ("server", "agent"):
        raise InputError(f"{node} is not a k3s server or agent of a k3d cluster (role {role!r})")
    for command in replacement_commands(inspected, image, suffix):
        run(command, timeout=120)
    return True
