"""A scenario's ``during`` steps show in its result: each probe that ran, and each one skipped with why."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3
from kubernetes import client

from harness.scenarios import ScenarioRunner, Status, load_scenario
from harness.scenarios.session import ApiSession
from harness.versions import KubeVersion


@pytest.fixture
def closed_port_kubeconfig(tmp_path: Path) -> Iterator[Path]:
    """A kubeconfig naming a loopback port nothing listens on: every probe attempt fails at once.

    The port stays bound (never listening) while the test runs, so a connection to it is
    refused and no other process on the machine can take it meanwhile.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield _kubeconfig(tmp_path, sock.getsockname()[1])


def _kubeconfig(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: 'https://127.0.0.1:{port}', insecure-skip-tls-verify: true}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    return path


def scenario_dir(tmp_path: Path, requires: str = "") -> Path:
    directory = tmp_path / "probes"
    directory.mkdir()
    (directory / "scenario.yaml").write_text(
        f"name: probes\ndescription: d\npromise: p.\n{requires}"
        "during:\n"
        "  - name: the API answers\n"
        "    per_tenant: false\n"
        "    probe: {interval: 0.1, steps: [{assert: {kind: Namespace, name: default}}]}\n"
        "  - name: the site answers through the ingress controller\n"
        "    per_tenant: false\n"
        "    requires: [ingress-data-path]\n"
        "    probe: {interval: 0.1, target: ingress, steps: [{assert: {kind: Namespace, name: default}}]}\n"
    )
    return directory


def test_a_probe_the_provider_cannot_run_is_reported_skipped_beside_the_one_that_probed(
    tmp_path: Path, closed_port_kubeconfig: Path
) -> None:
    scenario = load_scenario(scenario_dir(tmp_path))
    runner = ScenarioRunner(scenario, closed_port_kubeconfig, version=KubeVersion(1, 36, 3), provider_name="local")
    try:
        handle = runner.start_during()
        time.sleep(0.3)
        result = handle.result()
    finally:
        runner.close()
    assert [(s.path, s.title, s.status) for s in result.steps] == [
        ("during[0]", "the API answers", Status.FAILED),  # no attempt succeeded: nothing listens
        ("during[1]", "the site answers through the ingress controller", Status.SKIPPED),
    ]
    attempts, rest = result.steps[0].message.split(" attempts, ")
    assert int(attempts) >= 1 and rest.startswith("0% available"), result.steps[0].message
    assert result.steps[1].message == "needs ingress-data-path, which provider local does not have"
    assert result.status is Status.FAILED and result.phase == "during"
    assert handle.result().steps == result.steps, "asking again changes nothing"


def test_a_scenario_the_provider_cannot_run_reports_its_during_phase_skipped(tmp_path: Path) -> None:
    scenario = load_scenario(scenario_dir(tmp_path, requires="requires: [real-containers]\n"))
    runner = ScenarioRunner(scenario, tmp_path / "never-read", version=KubeVersion(1, 36, 3), provider_name="local")
    result = runner.start_during().result()
    assert result.status is Status.SKIPPED and result.steps == []
    assert result.reason == "the scenario needs real-containers, which provider local does not have"


def test_a_probe_sessions_client_reports_a_refused_connection_without_retrying_it(closed_port_kubeconfig: Path) -> None:
    """A retried connection would stretch one attempt over seconds of outage; urllib3 raises the
    refusal itself only when its retries are off (else it wraps it in MaxRetryError)."""
    session = ApiSession(closed_port_kubeconfig, fail_fast=True)
    try:
        with pytest.raises(urllib3.exceptions.NewConnectionError):
            client.VersionApi(session.admin_api).get_code()
    finally:
        session.close()
    default = ApiSession(closed_port_kubeconfig)
    try:
        with pytest.raises(urllib3.exceptions.MaxRetryError):
            client.VersionApi(default.admin_api).get_code()
    finally:
        default.close()
