"""Starting and restarting a local cluster's component processes, and checking each healthy.

A component is started from its command line (``commands``), recorded in the cluster state at
once (so a crash in between still leaves a record ``gc`` can act on), then polled on its health
endpoint; a component that exits meanwhile fails the wait with its log's last lines. Launch and
wait are separate so that components which do not depend on each other start together.
"""

from __future__ import annotations

import ssl
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path

from harness.errors import ClusterError
from harness.kube.client import api_client, get_raw, server_version
from harness.kube.waits import wait_until
from harness.providers.common import ports
from harness.providers.common.logs import log_tail
from harness.providers.local import commands, process, state
from harness.providers.local.commands import Layout
from harness.providers.local.timeouts import Timeouts
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
        #: Set when one of several waits running together failed: the others stop at once.
        self.cancelled = threading.Event()

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

    def wait(self, what: str, probe: Callable[[], tuple[bool, str]], timeout: float) -> None:
        """``wait_until`` at this cluster's polling pace."""
        wait_until(what, probe, timeout=timeout, interval=self.timeouts.poll, max_interval=self.timeouts.max_poll)

    def check(self, record: process.ProcessRecord) -> None:
        """Fail a wait when its component died, or when a wait beside it already failed."""
        if self.cancelled.is_set():
            raise ClusterError(f"start-up of {record.component} cancelled: another component failed")
        crash_check(record)

    def start_etcd(self, tools: Toolchain) -> None:
        self.wait_etcd(self.launch("etcd", commands.etcd(tools, self.at)))

    def wait_etcd(self, record: process.ProcessRecord) -> None:
        url = f"http://127.0.0.1:{self.at.ports['etcd']}/health"

        def healthy() -> tuple[bool, str]:
            self.check(record)
            with urllib.request.urlopen(url, timeout=2) as response:
                body = response.read().decode()
            return '"health":"true"' in body, body.strip()

        self.wait(f"etcd to answer {url}", healthy, self.timeouts.etcd)

    def restart_etcd(self, tools: Toolchain) -> None:
        # Nothing may write while the store's binary changes; the apiserver restarts next anyway.
        if "kube-apiserver" in self.st.processes:
            stop_component(self.st.processes["kube-apiserver"])
        stop_component(self.st.processes["etcd"])
        self.start_etcd(tools)

    def start_apiserver(self, tools: Toolchain, version: KubeVersion) -> None:
        self.wait_apiserver(self.launch("kube-apiserver", commands.kube_apiserver(tools, self.at, version)), version)

    def wait_apiserver(self, record: process.ProcessRecord, version: KubeVersion) -> None:
        api = api_client(self.at.kubeconfig("admin"))
        try:

            def ready() -> tuple[bool, str]:
                self.check(record)
                status, body = get_raw(api, "/readyz", timeout=3)
                return status == 200, f"/readyz {status}: {body.strip()[-300:]}"

            self.wait("kube-apiserver /readyz", ready, self.timeouts.apiserver)
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
        self.wait_controller(self.launch(component, argv))

    def wait_controller(self, record: process.ProcessRecord) -> None:
        component = record.component
        port_name = "controller-manager" if component == "kube-controller-manager" else "scheduler"
        url = f"https://127.0.0.1:{self.at.ports[port_name]}/healthz"
        insecure = ssl.create_default_context()
        # The component serves a self-signed cert it made itself; this health check reads a
        # loopback port we chose and sends nothing secret.
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE

        def healthy() -> tuple[bool, str]:
            self.check(record)
            with urllib.request.urlopen(url, timeout=2, context=insecure) as response:
                body = response.read().decode()
            return body.strip() == "ok", body.strip()

        self.wait(f"{component} {url}", healthy, self.timeouts.component)

    def start_kwok(self, tools: Toolchain) -> None:
        self.wait_kwok(self.launch("kwok", commands.kwok(tools, self.at)))

    def wait_kwok(self, record: process.ProcessRecord) -> None:
        url = f"http://127.0.0.1:{self.at.ports['kwok']}/healthz"

        def healthy() -> tuple[bool, str]:
            self.check(record)
            with urllib.request.urlopen(url, timeout=2) as response:
                body = response.read().decode()
            return response.status == 200, body.strip()

        self.wait(f"kwok {url}", healthy, self.timeouts.component)


def crash_check(record: process.ProcessRecord) -> None:
    if not process.alive(record):
        raise ClusterError(f"{record.component} exited during start-up:\n{log_tail(Path(record.log))}")
