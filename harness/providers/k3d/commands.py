"""The k3d and docker command lines the k3d provider runs, and what it reads from their output.

Every command goes through a ``Runner`` (by default ``run_tool``), so tests can replay recorded
output and pin the exact command lines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from harness.errors import ClusterError
from harness.providers.common.commands import run_tool
from harness.providers.k3d.images import K3dImages
from harness.providers.k3d.state import K3dState

#: The Docker label k3d puts on every container of a cluster, and the one naming its role.
CLUSTER_LABEL = "k3d.cluster"
ROLE_LABEL = "k3d.role"
#: k3s components the harness never uses; their images would have to be pulled.
DISABLED = "traefik,metrics-server"


class Runner(Protocol):
    """Runs a command line; its stdout, or ``ClusterError`` when it fails."""

    def __call__(self, command: list[str], *, timeout: float, env: Mapping[str, str] | None = None) -> str: ...


def default_runner(command: list[str], *, timeout: float, env: Mapping[str, str] | None = None) -> str:
    return run_tool(command, timeout=timeout, env=env)


@dataclass(frozen=True)
class K3dNode:
    """One container of a k3d cluster, as ``k3d node list -o json`` reports it."""

    name: str
    role: str
    running: bool


def create_command(k3d: str, st: K3dState, image: str, images: K3dImages) -> list[str]:
    """``k3d cluster create`` for ``st``: one server, ``nodes - 1`` agents, the API on loopback only."""
    command = [
        k3d, "cluster", "create", st.name, "--image", image, "--servers", "1", "--agents", str(st.nodes - 1),
        "--api-port", f"127.0.0.1:{st.api_port}",
        "--kubeconfig-update-default=false", "--kubeconfig-switch-context=false",
        "--k3s-arg", f"--disable={DISABLED}@server:*",
        "--wait", "--timeout", "300s",
    ]  # fmt: skip
    if images.loadbalancer is None:
        command.append("--no-lb")
    if images.pause:
        command += ["--k3s-arg", f"--pause-image={images.pause}@server:*;agent:*"]
    return command


def parse_nodes(output: str, cluster: str) -> list[K3dNode]:
    """The cluster's nodes from ``k3d node list -o json``: servers first, then agents, then the rest."""
    try:
        listed: list[dict[str, Any]] = json.loads(output or "[]")
        nodes = [
            K3dNode(str(n["name"]), str(n.get("role", "")), bool((n.get("State") or {}).get("Running", False)))
            for n in listed
            if (n.get("runtimeLabels") or {}).get(CLUSTER_LABEL) == cluster
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ClusterError(f"k3d node list printed what this harness cannot read: {exc}") from None
    order = {"server": 0, "agent": 1}
    return sorted(nodes, key=lambda n: (order.get(n.role, 2), n.name))


def replacement_commands(inspected: dict[str, Any], image: str, suffix: str) -> list[list[str]]:
    """docker commands replacing a node container by one of ``image`` that takes over its volumes.

    The replacement gets the old one's command, environment, labels, hostname, networks and
    published ports; ``/var/lib/rancher/k3s`` (the datastore) is a volume, so the data stays.
    """
    config = inspected["Config"]
    name = str(inspected["Name"]).lstrip("/")
    new = f"{name}-{suffix}"
    create = ["docker", "create", "--name", new, "--volumes-from", str(inspected["Id"]), "--privileged"]
    create += ["--hostname", str(config.get("Hostname") or name), "--tmpfs", "/run", "--tmpfs", "/var/run"]
    for network in sorted((inspected.get("NetworkSettings") or {}).get("Networks") or {}):
        create += ["--network", network]
    bindings = (inspected.get("HostConfig") or {}).get("PortBindings") or {}
    for container_port, hosts in sorted(bindings.items()):
        for host in hosts or []:
            address = f"{host['HostIp']}:" if host.get("HostIp") else ""
            create += ["--publish", f"{address}{host.get('HostPort', '')}:{container_port}"]
    for item in config.get("Env") or []:
        create += ["--env", item]
    for key, value in sorted((config.get("Labels") or {}).items()):
        create += ["--label", f"{key}={value}"]
    create += [image, *(config.get("Cmd") or [])]
    return [
        create,
        ["docker", "stop", name],
        ["docker", "rename", name, f"{name}-replaced"],
        ["docker", "rename", new, name],
        ["docker", "start", name],
        ["docker", "rm", "--force", f"{name}-replaced"],
    ]
