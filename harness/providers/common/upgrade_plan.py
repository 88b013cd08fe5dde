"""Running an upgrade plan: the Python path does what the playbook does, action by action."""

from __future__ import annotations

from harness.providers.base import Cluster, ClusterProvider
from harness.toolchain.sources import ProgressFn
from harness.versions import KubeVersion


def execute_plan(
    provider: ClusterProvider, cluster: Cluster, to_version: KubeVersion, *, force: bool, progress: ProgressFn
) -> Cluster:
    """Run every action of ``provider.upgrade_plan`` in order, reporting what each did; the cluster after."""
    plan = provider.upgrade_plan(cluster, to_version)
    for number, action in enumerate(plan, 1):
        progress(f"upgrade action {number}/{len(plan)}: {action}...")
        progress(provider.upgrade_action(cluster, to_version, action, force=force))
    return provider.get(cluster.name)
