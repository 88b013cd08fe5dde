"""A kind cluster's node containers: their names, commands run in them, and when they are ready."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from pathlib import Path

from kubernetes import client
from python_on_whales.exceptions import DockerException

from harness.errors import ClusterError
from harness.images import engine
from harness.kube.client import api_client, get_raw
from harness.kube.waits import FinalAnswer, wait_until
from harness.providers.common.background import Abandoned
from harness.providers.common.readiness import node_is_ready, pod_is_ready, wait_default_service_account
from harness.providers.kind.state import KindState
from harness.providers.kind.tools import KindTimeouts
from harness.versions import KubeVersion

#: The Docker label kind puts on every container of a cluster.
CLUSTER_LABEL = "io.x-k8s.kind.cluster"
#: Seconds one read of a wait may take: while etcd is down a request could otherwise hang until
#: the apiserver's own bound, past the wait's deadline.
PROBE_TIMEOUT = 10


def container_ids(name: str) -> dict[str, str]:
    docker = engine.docker_client()
    containers = docker.container.list(all=True, filters=[("label", f"{CLUSTER_LABEL}={name}")])
    return {c.name: c.id for c in containers}


def running(names: list[str]) -> dict[str, bool]:
    """Which of the node containers ``names`` are running (a missing one is not)."""
    docker = engine.docker_client()
    out: dict[str, bool] = {}
    for container in names:
        try:
            out[container] = bool(docker.container.inspect(container).state.running)
        except DockerException:
            out[container] = False
    return out


def wait_containerd(node: str, *, timeout: float, abandoned: threading.Event) -> None:
    """Wait until ``node``'s containerd answers, while kind may still be creating the container.

    Ends with ``Abandoned`` as soon as ``abandoned`` is set (the create failed and will remove
    the node), with ``WaitTimeout`` after ``timeout`` seconds.
    """
    docker = engine.docker_client()

    def answers() -> tuple[bool, str]:
        if abandoned.is_set():
            raise FinalAnswer("the cluster's creation failed")
        # A DockerException here (no container yet, or its containerd not started) is "not yet".
        docker.container.execute(node, ["ctr", "--namespace=k8s.io", "version"])
        return True, "containerd answers"

    try:
        wait_until(f"containerd in {node}", answers, timeout=timeout, interval=0.2, max_interval=0.5)
    except FinalAnswer:
        raise Abandoned(f"{node}: the cluster's creation failed before its containerd answered") from None


def exec_in(container: str, command: list[str], *, log: Path | None = None) -> str:
    """Run ``command`` in a node container; its output, or ``ClusterError`` with the output's tail."""
    docker = engine.docker_client()
    try:
        output = str(docker.container.execute(container, command) or "")
    except DockerException as exc:
        text = (exc.stdout or "") + (exc.stderr or "")
        if log is not None:
            log.write_text(text)
        tail = "\n".join(text.strip().splitlines()[-15:])
        raise ClusterError(f"{container}: {' '.join(command[:4])} failed:\n{tail}") from None
    if log is not None:
        log.write_text(output)
    return output


def engine_cgroup_version() -> str:
    """The Docker host's cgroup version ("1" or "2"), as the engine reports it."""
    with contextlib.suppress(DockerException):
        raw = engine.docker_client().client_config  # the CLI's `info` knows it; the model does not
        proc = subprocess.run(
            [*raw.docker_cmd, "info", "--format", "{{.CgroupVersion}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    return "2" if Path("/sys/fs/cgroup/cgroup.controllers").is_file() else "1"


def wait_ready(st: KindState, version: KubeVersion, timeouts: KindTimeouts) -> None:
    """Every node Ready at ``version``, every kube-system pod ready (CoreDNS among them), the default SA."""
    with contextlib.closing(api_client(st.kubeconfig)) as api:
        core = client.CoreV1Api(api)

        def nodes_ready() -> tuple[bool, str]:
            items = core.list_node(_request_timeout=PROBE_TIMEOUT).items
            ready = [
                n.metadata.name
                for n in items
                if node_is_ready(n) and n.status.node_info.kubelet_version == str(version)
            ]
            return len(ready) >= st.nodes, f"{len(ready)}/{st.nodes} nodes Ready at {version}"

        wait_until("all nodes Ready", nodes_ready, timeout=timeouts.nodes_ready)

        def system_pods() -> tuple[bool, str]:
            pods = core.list_namespaced_pod("kube-system", _request_timeout=PROBE_TIMEOUT).items
            waiting = [p.metadata.name for p in pods if not pod_is_ready(p)]
            dns = [p for p in pods if (p.metadata.labels or {}).get("k8s-app") == "kube-dns"]
            return bool(dns) and not waiting, f"not ready: {waiting or 'CoreDNS not scheduled yet'}"

        wait_until("kube-system pods ready", system_pods, timeout=timeouts.system_pods)
        wait_default_service_account(core, timeout=60)


def restart_kubelet(st: KindState, node: str, version: KubeVersion, timeouts: KindTimeouts) -> None:
    """Put the staged kubelet in place (if any), restart it, wait until the node is Ready at ``version``."""
    exec_in(
        node,
        [
            "bash",
            "-c",
            "if [ -f /usr/bin/kubelet.new ]; then mv /usr/bin/kubelet.new /usr/bin/kubelet; fi; "
            "systemctl daemon-reload && systemctl restart kubelet",
        ],
    )
    with contextlib.closing(api_client(st.kubeconfig)) as api:
        core = client.CoreV1Api(api)

        def at_version() -> tuple[bool, str]:
            n = core.read_node(node, _request_timeout=PROBE_TIMEOUT)
            kubelet = n.status.node_info.kubelet_version
            return kubelet == str(version) and node_is_ready(n), f"{node}: kubelet {kubelet}, ready={node_is_ready(n)}"

        wait_until(f"{node} Ready at {version}", at_version, timeout=timeouts.node_ready_after_kubelet)


def wait_api_stable(st: KindState, timeout: float, quiet_seconds: float = 10.0) -> None:
    """Wait until ``/readyz`` has answered 200 for ``quiet_seconds`` without a failure."""
    since: list[float] = []
    with contextlib.closing(api_client(st.kubeconfig)) as api:

        def stable() -> tuple[bool, str]:
            try:
                status, _ = get_raw(api, "/readyz", timeout=3)
            except Exception as exc:  # the apiserver is restarting
                status = 0
                detail = f"{type(exc).__name__}"
            else:
                detail = f"/readyz {status}"
            if status != 200:
                since.clear()
                return False, detail
            if not since:
                since.append(time.monotonic())
            held = time.monotonic() - since[0]
            return held >= quiet_seconds, f"/readyz 200 for {held:.0f}s"

        wait_until("the API answering steadily", stable, timeout=timeout, interval=1, max_interval=1)
