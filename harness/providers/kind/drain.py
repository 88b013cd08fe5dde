"""Draining a kind node before its kubelet is replaced, and making it schedulable again after.

A node is drained only when another schedulable node can take its pods; which nodes an upgrade
drained is recorded in the cluster state, so the uncordon action (run by the Python path or,
in another process, by the playbook) touches only those.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from kubernetes import client

from harness.errors import ClusterError
from harness.kube.client import api_client
from harness.kube.waits import wait_until
from harness.providers.common.commands import run_tool
from harness.providers.common.readiness import has_no_schedule_taint
from harness.providers.kind.state import KindState
from harness.providers.kind.tools import kubectl_args


def can_drain(kubeconfig: Path, node: str, timeout: float) -> bool:
    """Whether another schedulable node (no NoSchedule taint, not cordoned) can take ``node``'s pods."""
    with contextlib.closing(api_client(kubeconfig)) as api:
        core = client.CoreV1Api(api)
        listed: list[client.V1Node] = []

        def list_nodes() -> tuple[bool, str]:
            listed[:] = core.list_node().items
            return True, f"{len(listed)} nodes"

        wait_until("the node list", list_nodes, timeout=timeout, max_interval=2)
    return any(n.metadata.name != node and not n.spec.unschedulable and not has_no_schedule_taint(n) for n in listed)


def drain(st: KindState, kubectl: Path, node: str, timeout: float) -> bool:
    """Cordon and drain ``node`` when another node can take its pods; True (and recorded) if drained."""
    if not can_drain(st.kubeconfig, node, timeout):
        return False
    command = kubectl_args(kubectl, st.kubeconfig, "drain", node, "--ignore-daemonsets")
    command += ["--delete-emptydir-data", "--force", f"--timeout={int(timeout)}s"]

    def drained() -> tuple[bool, str]:
        run_tool(command, timeout=timeout + 30, what=f"kubectl drain {node}")
        return True, "drained"

    wait_until(f"drain {node}", lambda: _attempt(drained), timeout=timeout * 2, max_interval=2)
    if node not in st.drained:
        st.drained.append(node)
        st.save()
    return True


def uncordon(st: KindState, kubectl: Path, node: str, timeout: float) -> bool:
    """Uncordon ``node`` if an upgrade drained it; False when there was nothing to undo."""
    if node not in st.drained:
        return False

    def uncordoned() -> tuple[bool, str]:
        run_tool(kubectl_args(kubectl, st.kubeconfig, "uncordon", node), timeout=30, what=f"uncordon {node}")
        return True, "uncordoned"

    # ClusterError from a failed kubectl ends a wait at once; a flapping API deserves retries.
    wait_until(f"uncordon {node}", lambda: _attempt(uncordoned), timeout=timeout, max_interval=2)
    st.drained.remove(node)
    st.save()
    return True


def _attempt(action: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
    """``action`` for ``wait_until``, with its ClusterError a "not yet" instead of the end."""
    try:
        return action()
    except ClusterError as exc:
        return False, str(exc)[-300:]
