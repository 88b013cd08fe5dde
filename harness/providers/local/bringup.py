"""Bring-up of a new local cluster: what does not depend on each other starts together.

The only real dependencies are: the apiserver needs the certificates and (once it serves)
etcd; the controller-manager, the scheduler, kwok and the Node objects need the apiserver; nodes
turn Ready once kwok runs; the ``default`` ServiceAccount appears once the controller-manager
runs. So etcd starts while the certificates are made, the apiserver starts right after them
(it dials etcd until etcd answers), and once the apiserver is ready everything else is launched
at once and awaited side by side. Readiness stays as strict as before: every
component healthy, every node Ready, the default ServiceAccount present.

Each step's duration is recorded from its own start (``pki``, ``etcd`` from its launch,
``kube-apiserver`` from its launch; the rest from the moment the apiserver was ready), so steps
that ran together overlap and the timings show which one the cluster waited for.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from importlib import resources
from pathlib import Path
from typing import Any

from harness.errors import ClusterError
from harness.kube.client import api_client, get_json, get_raw, post_raw
from harness.kube.kubeconfig import write_kubeconfig
from harness.providers.common.audit import AUDIT_POLICY
from harness.providers.common.logs import log_tail
from harness.providers.common.steps import StepTimings
from harness.providers.local import certificates, commands, pki, process, state
from harness.providers.local.commands import Layout
from harness.providers.local.components import Components
from harness.providers.local.nodes import node_manifest
from harness.toolchain import Toolchain
from harness.toolchain.sources import ProgressFn
from harness.versions import KubeVersion

#: Client identities with a kubeconfig of their own (``admin`` is the user's).
KUBECONFIG_IDENTITIES = {
    "admin": pki.ADMIN,
    "controller-manager": pki.CONTROLLER_MANAGER,
    "scheduler": pki.SCHEDULER,
    "kwok": pki.KWOK,
}


def write_config(st: state.ClusterState, at: Layout) -> None:
    """Certificates, kubeconfigs, the audit policy and kwok's stages: every file the components read."""
    certificates.create_pki(at.pki.directory, st.name)
    for who, identity in KUBECONFIG_IDENTITIES.items():
        write_kubeconfig(
            at.kubeconfig(who),
            cluster=f"spin-{st.name}",
            server=at.server,
            ca_cert=at.pki.ca_cert,
            client_cert=at.pki.client_cert(identity),
            client_key=at.pki.client_key(identity),
            user=identity.user,
        )
    at.audit_policy.write_text(AUDIT_POLICY)
    stages = resources.files("harness.providers.local").joinpath("kwok-stages.yaml").read_text()
    at.kwok_config.write_text(stages)


class BringUp:
    """Starts one new cluster's components and waits until it is ready, recording each step."""

    def __init__(self, st: state.ClusterState, at: Layout, run: Components, progress: ProgressFn) -> None:
        self.st = st
        self.at = at
        self.run = run
        self.progress = progress
        self.timings = StepTimings()

    def __call__(self, tools: Toolchain) -> None:
        version = tools.kubernetes_version
        self.at.logs.mkdir(mode=0o700)
        started = time.monotonic()
        self.progress("etcd, the certificates and kube-apiserver...")
        etcd = self.run.launch("etcd", commands.etcd(tools, self.at))
        self._timed("pki", lambda: write_config(self.st, self.at))
        # The apiserver keeps dialling etcd until it answers: it need not wait for etcd's health.
        apiserver_started = time.monotonic()
        apiserver = self.run.launch("kube-apiserver", commands.kube_apiserver(tools, self.at, version))
        self.run.wait_etcd(etcd)
        self.timings.steps.append(("etcd", time.monotonic() - started))
        self.run.wait_apiserver(apiserver, version)
        self.timings.steps.append(("kube-apiserver", time.monotonic() - apiserver_started))

        self.progress("controller-manager, scheduler, kwok, nodes and the default ServiceAccount...")
        manager = self.run.launch("kube-controller-manager", commands.kube_controller_manager(tools, self.at))
        scheduler = self.run.launch("kube-scheduler", commands.kube_scheduler(tools, self.at))
        kwok = self.run.launch("kwok", commands.kwok(tools, self.at))
        self._together(
            {
                "kube-controller-manager": lambda: self.run.wait_controller(manager),
                "kube-scheduler": lambda: self.run.wait_controller(scheduler),
                "kwok": lambda: self.run.wait_kwok(kwok),
                "nodes Ready": lambda: self._nodes_ready(version),
                "default ServiceAccount": self._default_service_account,
            }
        )
        self._all_running()

    def _timed(self, title: str, action: Callable[[], None]) -> None:
        started = time.monotonic()
        action()
        self.timings.steps.append((title, time.monotonic() - started))

    def _together(self, waits: dict[str, Callable[[], None]]) -> None:
        """Run ``waits`` side by side; the first failure cancels the others and is raised."""
        started = time.monotonic()
        finished: dict[str, float] = {}

        def timed(title: str, action: Callable[[], None]) -> None:
            action()
            finished[title] = time.monotonic() - started

        pool = ThreadPoolExecutor(max_workers=len(waits), thread_name_prefix="bring-up")
        try:
            futures = [pool.submit(timed, title, action) for title, action in waits.items()]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for future in done:
                future.result()
        except BaseException:
            self.run.cancelled.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        self.timings.steps.extend(sorted(finished.items(), key=lambda item: item[1]))

    def _nodes_ready(self, version: KubeVersion) -> None:
        # Raw calls: the typed CoreV1Api costs seconds to import the first time, on this path.
        with contextlib.closing(api_client(self.at.kubeconfig("admin"))) as api:
            for index in range(self.st.nodes):
                status, body = post_raw(api, "/api/v1/nodes", node_manifest(f"node-{index}", version))
                if status != 201:
                    raise ClusterError(f"creating node-{index} answered {status}: {body[:300]}")

            def ready() -> tuple[bool, str]:
                self._check_alive()
                count = sum(1 for node in get_json(api, "/api/v1/nodes")["items"] if ready_condition(node))
                return count >= self.st.nodes, f"{count}/{self.st.nodes} nodes Ready"

            self.run.wait("all nodes Ready", ready, self.run.timeouts.nodes)

    def _default_service_account(self) -> None:
        with contextlib.closing(api_client(self.at.kubeconfig("admin"))) as api:

            def present() -> tuple[bool, str]:
                self._check_alive()
                status, body = get_raw(api, "/api/v1/namespaces/default/serviceaccounts/default")
                return status == 200, f"GET the default ServiceAccount: {status} {body.strip()[:200]}"

            self.run.wait("the default ServiceAccount", present, self.run.timeouts.service_account)

    def _check_alive(self) -> None:
        if self.run.cancelled.is_set():
            raise ClusterError("start-up cancelled: another component failed")
        self._all_running()

    def _all_running(self) -> None:
        for name, record in self.st.processes.items():
            if not process.alive(record):
                raise ClusterError(f"{name} is not running:\n{log_tail(Path(record.log))}")


def ready_condition(node: dict[str, Any]) -> bool:
    """A Node (as JSON) whose Ready condition is True: ``node_is_ready`` for raw objects."""
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
