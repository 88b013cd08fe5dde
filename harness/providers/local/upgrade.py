"""The local provider's in-place hop: new binaries over the same etcd data, in skew-policy order.

Upstream's version-skew policy orders an upgrade: etcd (when its version changes), then
kube-apiserver, then kube-controller-manager and kube-scheduler, then the kubelets (here the
version the kwok nodes report). Within that order the hop waits for nothing that does not
depend on it, since the API is unavailable for as long as the hop takes:

- a component whose command line stays the same keeps running;
- the old controller-manager and scheduler stop together with the old apiserver (without an
  apiserver they can do nothing) and the new ones start side by side once the new apiserver
  answers ``/readyz``: both depend on the apiserver only;
- the old apiserver is killed as soon as its log says its in-flight requests have drained, its
  audit backend has shut down and its port is closed (every write and its audit event are done
  by then; it takes milliseconds); what its graceful shutdown does after that is wait for idle
  watch connections, which used to hold the hop for the whole grace period;
- every wait polls every 50-100 ms.

The checks are the ones a create makes: each component healthy on its own endpoint, the
apiserver reporting the target version, every node Ready and the default ServiceAccount there.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psutil
from kubernetes import client

from harness.errors import ClusterError
from harness.kube.client import api_client, get_raw, server_version
from harness.kube.waits import wait_until
from harness.providers.local import commands, process, state
from harness.providers.local.commands import Layout
from harness.providers.local.components import STOP_GRACE, Components, crash_check, stop_component
from harness.providers.local.nodes import set_node_versions
from harness.providers.local.timeouts import Timeouts
from harness.side_by_side import side_by_side
from harness.toolchain import Component, Toolchain, ToolchainConfig
from harness.toolchain.ensure import ensure
from harness.toolchain.sources import ProgressFn
from harness.versions import KubeVersion

T = TypeVar("T")

#: Seconds between polls of a hop's waits: the first and the longest.
POLL = 0.05
MAX_POLL = 0.1

#: How long the old apiserver may take to drain its in-flight requests before it is killed anyway.
APISERVER_DRAIN = STOP_GRACE["kube-apiserver"]

#: What the apiserver logs (at ``--v=1``) once every in-flight request has finished, its audit
#: events are written and its port is closed: the rest of its shutdown is idle watches.
DRAINED = ("InFlightRequestsDrained", "audit backend shutdown completed", "HTTPServerStoppedListening")

#: The binaries a hop may start (etcd's version tells whether it moves): the toolchain checks
#: these, not kwok or kubectl, which the hop does not run.
HOP_COMPONENTS = (Component.ETCD, Component.KUBE_APISERVER, Component.KUBE_CONTROLLER_MANAGER, Component.KUBE_SCHEDULER)

#: The controllers the hop restarts after the apiserver, and the port each answers health on.
CONTROLLERS = {"kube-controller-manager": "controller-manager", "kube-scheduler": "scheduler"}

Step = Callable[[str, Callable[[], Any]], Any]

#: Held while a component is launched: launching records it in the cluster's state file.
_launching = threading.Lock()


def hop_toolchain(version: KubeVersion, config: ToolchainConfig | None, progress: ProgressFn) -> Toolchain:
    """The binaries the hop runs, checked while the API client's classes load beside them.

    The Kubernetes client loads its API classes on first use, which takes about a second in a
    fresh process (the playbook runs each hop in one): done here, it overlaps the checksums and
    stays out of the time the API is down.
    """
    steps: list[Callable[[], Any]] = [
        lambda: ensure(version, HOP_COMPONENTS, config=config, progress=progress),
        lambda: client.CoreV1Api,
    ]
    tools: Toolchain = side_by_side(steps)[0]
    return tools


def upgrade_in_place(
    st: state.ClusterState,
    at: Layout,
    tools: Toolchain,
    version: KubeVersion,
    timeouts: Timeouts,
    *,
    step: Step,
    wait_ready: Callable[[], None],
) -> None:
    """Move the cluster's control plane and nodes to ``version``; each step through ``step``."""
    run = Components(st, at, timeouts)
    etcd_moves = tools.etcd_version != st.etcd_version
    wanted = {
        "kube-apiserver": commands.kube_apiserver(tools, at, version),
        "kube-controller-manager": commands.kube_controller_manager(tools, at),
        "kube-scheduler": commands.kube_scheduler(tools, at),
    }
    changed = [name for name, argv in wanted.items() if etcd_moves or not _runs(st, name, argv)]
    if changed:
        step(f"stop {', '.join(changed)}", lambda: side_by_side([_stopper(st, at, name) for name in changed]))
    if etcd_moves:
        step(f"etcd {st.etcd_version} -> {tools.etcd_version}", lambda: _replace_etcd(run, st, tools))
        st.etcd_version = tools.etcd_version
    if "kube-apiserver" in changed:
        step("kube-apiserver", lambda: start_apiserver(run, wanted["kube-apiserver"], version))
    controllers = [name for name in CONTROLLERS if name in changed]
    if controllers:
        step(
            " and ".join(controllers),
            lambda: side_by_side([_controller_starter(run, name, wanted[name]) for name in controllers]),
        )
    step("node versions", lambda: set_node_versions(at, version))
    step("ready", wait_ready)


def _runs(st: state.ClusterState, component: str, argv: list[str]) -> bool:
    """Whether ``component`` is running with exactly ``argv`` (then the hop leaves it alone)."""
    record = st.processes.get(component)
    return record is not None and list(record.argv) == argv and process.alive(record)


def _stopper(st: state.ClusterState, at: Layout, component: str) -> Callable[[], None]:
    record = st.processes.get(component)
    if record is None:
        return lambda: None
    if component == "kube-apiserver":
        return lambda: stop_apiserver(record, at.logs / "kube-apiserver.log")
    return lambda: stop_component(record)


def stop_apiserver(record: process.ProcessRecord, log: Path) -> None:
    """SIGTERM the apiserver; kill it once it has drained its in-flight requests (or it exits)."""
    if not process.alive(record):
        return
    start = log.stat().st_size if log.is_file() else 0
    try:
        proc = psutil.Process(record.pid)
        proc.terminate()
    except psutil.NoSuchProcess:
        return
    deadline = time.monotonic() + APISERVER_DRAIN
    while time.monotonic() < deadline and process.alive(record):
        if _logged_since(log, start, DRAINED):
            break
        time.sleep(POLL)
    process.terminate_tree(proc, timeout=0)


def _logged_since(log: Path, offset: int, texts: tuple[str, ...]) -> bool:
    """Whether ``log`` has each of ``texts`` after ``offset``."""
    try:
        with log.open("rb") as lines:
            lines.seek(offset)
            said = lines.read()
    except OSError:
        return False
    return all(text.encode() in said for text in texts)


def _replace_etcd(run: Components, st: state.ClusterState, tools: Toolchain) -> None:
    stop_component(st.processes["etcd"])
    run.start_etcd(tools)


def _launch(run: Components, component: str, argv: list[str]) -> process.ProcessRecord:
    with _launching:
        return run.launch(component, argv)


def _wait(what: str, probe: Callable[[], tuple[bool, str]], timeout: float) -> None:
    wait_until(what, probe, timeout=timeout, interval=POLL, max_interval=MAX_POLL)


def start_apiserver(run: Components, argv: list[str], version: KubeVersion) -> None:
    """Start the new apiserver; wait for ``/readyz`` and check the version it reports."""
    record = _launch(run, "kube-apiserver", argv)
    with contextlib.closing(api_client(run.at.kubeconfig("admin"))) as api:

        def ready() -> tuple[bool, str]:
            crash_check(record)
            status, body = get_raw(api, "/readyz", timeout=3)
            return status == 200, f"/readyz {status}: {body.strip()[-300:]}"

        _wait("kube-apiserver /readyz", ready, run.timeouts.apiserver)
        reported = server_version(api).get("gitVersion")
        if reported != str(version):
            raise ClusterError(f"kube-apiserver reports {reported}, expected {version}")


def _controller_starter(run: Components, component: str, argv: list[str]) -> Callable[[], None]:
    return lambda: start_controller(run, component, argv)


def start_controller(run: Components, component: str, argv: list[str]) -> None:
    """Start the new controller-manager or scheduler; wait for its ``/healthz``."""
    record = _launch(run, component, argv)
    url = f"https://127.0.0.1:{run.at.ports[CONTROLLERS[component]]}/healthz"
    insecure = ssl.create_default_context()
    # The component serves a certificate it made itself; this reads a loopback port we chose.
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE

    def healthy() -> tuple[bool, str]:
        crash_check(record)
        with urllib.request.urlopen(url, timeout=2, context=insecure) as response:
            body = response.read().decode()
        return body.strip() == "ok", body.strip()

    _wait(f"{component} {url}", healthy, run.timeouts.component)
