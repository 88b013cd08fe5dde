"""HTTPS through the Traefik ingress controller of a kind cluster, before and after an upgrade.

Traefik is built from Go modules the first time (several minutes cold), so this runs in the
nightly job (``tox -e kind-nightly``, which sets SPIN_HARNESS_NIGHTLY=1) rather than in every
CI run; the smoke matrix on kind checks the same path through the ingress scenario.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import ssl
from collections.abc import Iterator

import pytest
from kubernetes import client

from harness.kube.client import api_client
from harness.kube.waits import wait_until
from harness.providers.base import Cluster
from harness.providers.kind import KindProvider
from harness.providers.kind.ingress import CONTROLLER
from harness.providers.kind.state import KindState
from harness.versions import KubeVersion

pytestmark = [pytest.mark.e2e, pytest.mark.kind]

HOST = "site.apps.spin.example"


@pytest.fixture(scope="module")
def ingress_cluster(e2e_versions: tuple[KubeVersion, KubeVersion]) -> Iterator[tuple[KindProvider, Cluster]]:
    if os.environ.get("SPIN_HARNESS_NIGHTLY") != "1":
        pytest.skip("nightly only (SPIN_HARNESS_NIGHTLY=1, tox -e kind-nightly): builds Traefik from Go modules")
    provider = KindProvider(ingress=True)
    reason = provider.available()
    if reason:
        pytest.skip(f"kind provider unavailable: {reason}")
    cluster = provider.create(f"ki{os.getpid() % 100000}", e2e_versions[0], nodes=2)
    try:
        yield provider, cluster
    finally:
        provider.delete(cluster)


def https_get(port: int) -> tuple[int, str]:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # Traefik's default certificate
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=HOST) as tls,
    ):
        connection = http.client.HTTPSConnection(HOST, port, timeout=5)
        connection.sock = tls
        connection.request("GET", "/")
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")


def test_https_reaches_the_tenant_service_across_an_upgrade(
    ingress_cluster: tuple[KindProvider, Cluster], e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    provider, cluster = ingress_cluster
    port = KindState.load(cluster.state_dir).ingress_port
    image = provider.scenario_defaults()["image"]
    with contextlib.closing(api_client(cluster.kubeconfig)) as api:
        core, apps, net = client.CoreV1Api(api), client.AppsV1Api(api), client.NetworkingV1Api(api)
        script = "mkdir -p /www && echo page of the site > /www/index.html && exec httpd -f -p 8080 -h /www"
        apps.create_namespaced_deployment(
            "default",
            {
                "metadata": {"name": "site"},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "site"}},
                    "template": {
                        "metadata": {"labels": {"app": "site"}},
                        "spec": {"containers": [{"name": "web", "image": image, "command": ["sh", "-c", script]}]},
                    },
                },
            },
        )
        core.create_namespaced_service(
            "default",
            {
                "metadata": {"name": "site"},
                "spec": {"selector": {"app": "site"}, "ports": [{"port": 80, "targetPort": 8080}]},
            },
        )
        net.create_ingress_class({"metadata": {"name": "platform"}, "spec": {"controller": CONTROLLER}})
        rule = {
            "host": HOST,
            "http": {
                "paths": [
                    {
                        "path": "/",
                        "pathType": "Prefix",
                        "backend": {"service": {"name": "site", "port": {"number": 80}}},
                    }
                ]
            },
        }
        net.create_namespaced_ingress(
            "default", {"metadata": {"name": "site"}, "spec": {"ingressClassName": "platform", "rules": [rule]}}
        )

    def page() -> tuple[bool, str]:
        status, body = https_get(port)
        return status == 200 and "page of the site" in body, f"{status} {body[:80]!r}"

    wait_until("the site through the ingress controller", page, timeout=120, max_interval=2)
    provider.upgrade(cluster, e2e_versions[1])
    wait_until("the site through the ingress controller after the upgrade", page, timeout=60, max_interval=2)
