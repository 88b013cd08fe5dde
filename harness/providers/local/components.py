"""Starting and restarting a local cluster's component processes, each checked healthy before the next.

A component is started from its command line (``commands``), recorded in the cluster state at
once (so a crash in between still leaves a record ``gc`` can act on), then polled on its health
endpoint; a component that exits meanwhile fails the wait with its log's last lines.
"""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ClusterError
from harness.kube.client import api_client, get_raw, server_version
from harness.kube.waits import wait_until
from harness.providers.common import ports
from harness.providers.common.logs import log_tail
from harness.providers.local import commands, process, state
from harness.providers.local.commands import Layout
from harness.toolchain import Toolchain
from harness.versions import KubeVersion

#: Components in start order; upgrades follow it too, and shutdown reverses it.
START_ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")

#: Seconds between SIGTERM and SIGKILL. The apiserver finishes its graceful-termination events
#: within a second, then can sit for 20 s closing idle watch connections; nothing is lost by
#: not waiting for that.
STOP_GRACE = {"kube-apiserver": 3.0}

#: The listeners each component owns (names in the cluster's port table).
COMPONENT_PORTS = {
    "etcd": ("etcd", "etcd-peer"),
    "kube-apiserver": ("apiserver",),
    "kube-controller-manager": ("controller-manager",),
    "kube-scheduler": ("scheduler",),
    "kwok": ("kwok",),
}


@dataclass
class Timeouts:
    """Deadlines, in seconds, for the waits of bring-up and upgrade."""

    etcd: float = 60
    apiserver: float = 180
    component: float = 60
    nodes: float = 90
    service_account: float = 90


def stop_component(record: process.ProcessRecord) -> None:
    process.stop(record, timeout=STOP_GRACE.get(record.component, 10.0))


def free_port_probe(port: int) -> Callable[[], tuple[bool, str]]:
    return lambda: (ports.port_is_free(port), f"127.0.0.1:{port} still in use")


class Components:
    """Starts, restarts and health-checks the processes of one cluster."""

    def __init__(self, st: state.ClusterState, at: Layout, timeouts: Timeouts) -> None:
        self.st = st
        self.at = at
        self.timeouts = timeouts

    def launch(self, component: str, argv: list[str]) -> process.ProcessRecord:
        # A replaced component's predecessor may still be closing its listener (slow exit under
        # load); starting before it has would fail with "address already in use".
        for port_name in COMPONENT_PORTS.get(component, ()):
            wait_until(
                f"port {self.at.ports[port_name]} ({component}) to be free",
                free_port_probe(self.at.ports[port_name]),
                timeout=self.timeouts.component,
            )
        record = process.start(component, argv, self.at.logs / f"{component}.log", self.st.directory)
        self.st.processes[component] = record
        self.st.save()
        return record

    def start_etcd(self, tools: Toolchain) -> None:
        record = self.launch("etcd", commands.etcd(tools, self.at))
        url = f"http://127.0.0.1:{self.at.ports['etcd']}/health"

        def healthy() -> tuple[bool, str]:
            crash_check(record)
            with urllib.request.urlopen(url, timeout=2) as response:
                body = response.read().decode()
            return '"health":"true"' in body, body.strip()

        wait_until(f"etcd to answer {url}", healthy, timeout=self.timeouts.etcd)

    def restart_etcd(self, tools: Toolchain) -> None:
        # Nothing may write while the store's binary changes; the apiserver restarts next anyway.
        if "kube-apiserver" in self.st.processes:
            stop_component(self.st.processes["kube-apiserver"])
        stop_component(self.st.processes["etcd"])
        self.start_etcd(tools)

    def start_apiserver(self, tools: Toolchain, version: KubeVersion) -> None:
        record = self.launch("kube-apiserver", commands.kube_apiserver(tools, self.at, version))
        api = api_client(self.at.kubeconfig("admin"))
        try:

            def ready() -> tuple[bool, str]:
                crash_check(record)
                status, body = get_raw(api, "/readyz", timeout=3)
                return status == 200, f"/readyz {status}: {body.strip()[-300:]}"

            wait_until("kube-apiserver /readyz", ready, timeout=self.timeouts.apiserver)
            reported = server_version(api).get("gitVersion")
            if reported != str(version):
                raise ClusterError(f"kube-apiserver reports {reported}, expected {version}")
        finally:
            api.close()

    def restart_apiserver(self, tools: Toolchain, version: KubeVersion) -> None:
        old = self.st.processes.get("kube-apiserver")
        if old is not None:
            stop_component(old)
        self.start_apiserver(tools, version)

    def start_controller(self, component: str, argv: list[str], *, replace: bool = False) -> None:
        """kube-controller-manager or kube-scheduler, healthy on its ``/healthz``."""
        if replace and component in self.st.processes:
            stop_component(self.st.processes[component])
        record = self.launch(component, argv)
        port_name = "controller-manager" if component == "kube-controller-manager" else "scheduler"
        url = f"https://127.0.0.1:{self.at.ports[port_name]}/healthz"
        insecure = ssl.create_default_context()
        # The component serves a self-signed cert it made itself; this health check reads a
        # loopback port we chose and sends nothing secret.
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE

        def healthy() -> tuple[bool, str]:
            crash_check(record)
            with urllib.request.urlopen(url, timeout=2, context=insecure) as response:
                body = response.read().decode()
            return body.strip() == "ok", body.strip()

        wait_until(f"{component} {url}", healthy, timeout=self.timeouts.component)

    def start_kwok(self, tools: Toolchain) -> None:
        record = self.launch("kwok", commands.kwok(tools, self.at))
        url = f"http://127.0.0.1:{self.at.ports['kwok']}/healthz"

        def healthy() -> tuple[bool, str]:
            crash_check(record)
            with urllib.request.urlopen(url, timeout=2) as response:
                body = response.read().decode()
            return response.status == 200, body.strip()

        wait_until(f"kwok {url}", healthy, timeout=self.timeouts.component)


def crash_check(record: process.ProcessRecord) -> None:
    if not process.alive(record):
        raise ClusterError(f"{record.component} exited during start-up:\n{log_tail(Path(record.log))}")
