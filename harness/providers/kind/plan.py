"""The named actions of a kind cluster's in-place upgrade, in the order they run.

Apart from the code that runs them (``kubeadm_upgrade``), so that listing the plan (the
playbook's first step) reads the cluster's record and nothing else.
"""

from __future__ import annotations

from harness.providers.base import UpgradeAction
from harness.providers.kind.state import KindState, node_names

CONTROL_PLANE = "control-plane"
DRAIN = "drain"
NODE = "node"
UNCORDON = "uncordon"
FINISH = "finish"


def upgrade_plan(st: KindState) -> list[UpgradeAction]:
    """The control plane, then per worker drain, node, uncordon, then the wait for everything ready."""
    actions = [UpgradeAction(CONTROL_PLANE)]
    for worker in node_names(st)[1:]:
        actions += [UpgradeAction(DRAIN, worker), UpgradeAction(NODE, worker), UpgradeAction(UNCORDON, worker)]
    return [*actions, UpgradeAction(FINISH)]
