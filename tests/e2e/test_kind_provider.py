"""The kind provider on real node containers, from an image built here without pulling.

One cluster for the module (two nodes at the older of the newest two minors): its pods
really run, a tenant pod reads a file through the global-filesystem hostPath mount as its
own uid and is refused by the kernel as another uid, and an in-place upgrade to the newer
minor keeps the node containers, the etcd data and the running pod. The platform's admission
webhook runs in it as pods behind a Service (the image the provider loaded at creation) and
keeps refusing through the upgrade. Skipped, with the reason, where no Docker engine answers
(scripts/docker-engine starts one).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from harness.images import engine
from harness.images.kind_node import build_node_image
from harness.kube.client import api_client
from harness.kube.waits import wait_until
from harness.providers.base import Cluster
from harness.providers.kind import KindProvider
from harness.providers.kind.state import KindState
from harness.versions import KubeVersion
from harness.webhooks.deployment import WEBHOOK_NAMES, InClusterWebhook
from harness.webhooks.install_in_cluster import IN_CLUSTER_POLICY, deploy, reviews, scale, wait_ready
from harness.webhooks.policy import GID_ANNOTATION, GLOBAL_FS_ANNOTATION, TENANT_LABEL, UID_ANNOTATION

pytestmark = [pytest.mark.e2e, pytest.mark.kind]

UID = 24001
PROJECT = "/global/cfs/projects/kt-project"
IN_CLUSTER_NS = "kt-in-cluster"


@pytest.fixture(scope="module")
def provider() -> KindProvider:
    # Without the ingress controller: building Traefik is the nightly job's (test_kind_ingress.py).
    provider = KindProvider(ingress=False)
    reason = provider.available()
    if reason:
        pytest.skip(f"kind provider unavailable: {reason}")
    return provider


@pytest.fixture(scope="module")
def kind_cluster(provider: KindProvider, e2e_versions: tuple[KubeVersion, KubeVersion]) -> Iterator[Cluster]:
    cluster = provider.create(f"kt{os.getpid() % 100000}", e2e_versions[0], nodes=2)
    try:
        yield cluster
    finally:
        provider.delete(cluster)


def run_pod(core: client.CoreV1Api, name: str, spec: dict[str, Any], timeout: float = 90) -> tuple[str, str]:
    """Create a pod in ``default``, wait until it ends, return (phase, log)."""
    core.create_namespaced_pod("default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})

    def ended() -> tuple[bool, str]:
        phase = core.read_namespaced_pod(name, "default").status.phase
        return phase in ("Succeeded", "Failed"), f"phase {phase}"

    wait_until(f"pod {name} to end", ended, timeout=timeout, max_interval=1)
    return core.read_namespaced_pod(name, "default").status.phase, core.read_namespaced_pod_log(name, "default")


def test_node_image_is_found_again_by_its_inputs(e2e_versions: tuple[KubeVersion, KubeVersion]) -> None:
    if engine.engine_unavailable_reason():
        pytest.skip(str(engine.engine_unavailable_reason()))
    first = build_node_image(e2e_versions[0])
    again = build_node_image(e2e_versions[0])
    assert again.reference == first.reference and not again.built
    assert first.reference.startswith(f"spin-harness/kind-node:{e2e_versions[0]}-")
    assert any(ref.startswith("registry.k8s.io/kube-apiserver:") for ref in first.preloaded)


def test_pods_run_and_read_the_global_filesystem_as_their_own_uid(
    provider: KindProvider, kind_cluster: Cluster
) -> None:
    state = KindState.load(kind_cluster.state_dir)
    project = state.global_fs / "kt-project"
    project.mkdir()
    marker = project / "marker"
    marker.write_text("written on the host\n")
    os.chown(project, UID, UID)
    os.chown(marker, UID, UID)
    project.chmod(0o700)
    image = provider.scenario_defaults()["image"]

    def spec(uid: int) -> dict[str, Any]:
        return {
            "restartPolicy": "Never",
            "securityContext": {"runAsUser": uid, "runAsGroup": uid},
            "containers": [{"name": "c", "image": image, "command": ["cat", "/project/marker"],
                            "volumeMounts": [{"name": "p", "mountPath": "/project"}]}],
            "volumes": [{"name": "p", "hostPath": {"path": "/global/cfs/projects/kt-project", "type": "Directory"}}],
        }  # fmt: skip

    with contextlib.closing(api_client(kind_cluster.kubeconfig)) as api:
        core = client.CoreV1Api(api)
        phase, log = run_pod(core, "reader", spec(UID))
        assert (phase, log) == ("Succeeded", "written on the host\n")
        phase, log = run_pod(core, "intruder", spec(UID + 1))
        assert phase == "Failed" and "Permission denied" in log, (phase, log)


def tenant_pod(name: str, uid: int) -> dict[str, Any]:
    """A pod of tenant ``kt`` mounting its project directory, running as ``uid``."""
    security = {
        "runAsUser": uid,
        "runAsGroup": UID,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    return {
        "metadata": {"name": name},
        "spec": {
            "containers": [{"name": "c", "image": "x", "securityContext": security,
                            "volumeMounts": [{"name": "p", "mountPath": "/project"}]}],
            "volumes": [{"name": "p", "hostPath": {"path": f"{PROJECT}/work"}}],
        },
    }  # fmt: skip


def dry_run(core: client.CoreV1Api, namespace: str, pod: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    """(0, "", the admitted pod) or (status, the apiserver's message, {})."""
    try:
        created = core.api_client.sanitize_for_serialization(core.create_namespaced_pod(namespace, pod, dry_run="All"))
    except client.ApiException as exc:
        return int(exc.status or 0), str(json.loads(exc.body or "{}").get("message", exc.reason)), {}
    return 0, "", created


def refused_by_the_in_cluster_webhook(core: client.CoreV1Api) -> str:
    """Wait (registrations take effect through a watch) for a foreign uid to be refused; the message."""
    answer = [""]

    def refused() -> tuple[bool, str]:
        status, message, _ = dry_run(core, IN_CLUSTER_NS, tenant_pod("foreign", UID + 1))
        answer[0] = message
        return status in (400, 403) and f'admission webhook "{WEBHOOK_NAMES[0]}" denied' in message, message[:300]

    wait_until("the in-cluster webhook to refuse a foreign uid", refused, timeout=60, max_interval=2)
    return answer[0]


def test_the_admission_webhook_runs_in_the_cluster_as_pods(provider: KindProvider, kind_cluster: Cluster) -> None:
    webhook = InClusterWebhook(provider.scenario_defaults()["webhook_image"])
    with contextlib.closing(api_client(kind_cluster.kubeconfig)) as api:
        core = client.CoreV1Api(api)
        labels = {TENANT_LABEL: "kt", "platform.spin.example/policy": IN_CLUSTER_POLICY}
        annotations = {UID_ANNOTATION: str(UID), GID_ANNOTATION: str(UID), GLOBAL_FS_ANNOTATION: PROJECT}
        core.create_namespace({"metadata": {"name": IN_CLUSTER_NS, "labels": labels, "annotations": annotations}})
        print(deploy(api, webhook))
        # Both replicas run, one per node: the control plane's taint is tolerated.
        pods = core.list_namespaced_pod(webhook.namespace).items
        assert len({p.spec.node_name for p in pods}) == 2, [p.spec.node_name for p in pods]

        message = refused_by_the_in_cluster_webhook(core)
        assert "run-as-user-mismatch" in message, message
        status, message, admitted = dry_run(core, IN_CLUSTER_NS, tenant_pod("compliant", UID))
        assert status == 0, message
        assert admitted["metadata"]["labels"][TENANT_LABEL] == "kt", "mutated by the in-cluster webhook"
        assert admitted["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}

        # The pods' own log is the evidence that they (not a server on the host) answered.
        logged = [r for r in reviews(api, webhook) if r["namespace"] == IN_CLUSTER_NS]
        decisions = {(r["path"], r["decision"]) for r in logged}
        assert {("/validate", "denied"), ("/validate", "allowed"), ("/mutate", "allowed")} <= decisions, logged
        assert any(r["path"] == "/mutate" and r["patch_ops"] > 0 for r in logged)

        # No pod behind the Service: failurePolicy Fail refuses; back, admitted again.
        scale(api, webhook, 0)
        try:
            status, message, _ = dry_run(core, IN_CLUSTER_NS, tenant_pod("compliant", UID))
        finally:
            scale(api, webhook, 2)
        assert status >= 500 and "failed calling webhook" in message and "in-cluster" in message, (status, message)
        wait_until(  # kube-proxy on the apiserver's node may take a moment to see the new endpoints
            "a compliant pod admitted again",
            lambda: (dry_run(core, IN_CLUSTER_NS, tenant_pod("compliant", UID))[0] == 0, "refused"),
            timeout=30,
            max_interval=1,
        )


def test_upgrade_in_place_keeps_containers_data_and_pods(
    provider: KindProvider, kind_cluster: Cluster, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    older, newer = e2e_versions
    before = KindState.load(kind_cluster.state_dir).container_ids
    image = provider.scenario_defaults()["image"]
    with contextlib.closing(api_client(kind_cluster.kubeconfig)) as api:
        core = client.CoreV1Api(api)
        core.create_namespaced_config_map("default", {"metadata": {"name": "kept"}, "data": {"written-at": str(older)}})
        core.create_namespaced_pod(
            "default",
            {
                "metadata": {"name": "sleeper"},
                "spec": {"containers": [{"name": "c", "image": image, "command": ["sleep", "3600"]}]},
            },
        )
        wait_until(
            "sleeper Running",
            lambda: (core.read_namespaced_pod("sleeper", "default").status.phase == "Running", "not yet"),
            timeout=90,
        )
        uid = core.read_namespaced_pod("sleeper", "default").metadata.uid

    started = time.monotonic()
    upgraded = provider.upgrade(kind_cluster, newer)
    seconds = time.monotonic() - started
    print(f"kind upgrade {older} -> {newer}: {seconds:.0f}s")

    assert upgraded.version == newer
    after = provider._container_ids(kind_cluster.name)
    assert after == before, "an in-place upgrade must keep the node containers"
    with contextlib.closing(api_client(kind_cluster.kubeconfig)) as api:
        core = client.CoreV1Api(api)
        versions = {n.metadata.name: n.status.node_info.kubelet_version for n in core.list_node().items}
        assert set(versions.values()) == {str(newer)}, versions
        assert core.read_namespaced_config_map("kept", "default").data == {"written-at": str(older)}
        pod = core.read_namespaced_pod("sleeper", "default")
        assert pod.metadata.uid == uid and pod.status.phase == "Running"
        assert client.VersionApi(api).get_code().git_version == str(newer)
        if core.list_namespace(field_selector=f"metadata.name={IN_CLUSTER_NS}").items:
            # The in-cluster webhook (deployed above) survived the drain of its node.
            print(wait_ready(api, InClusterWebhook(), timeout=120))
            refused_by_the_in_cluster_webhook(core)


def test_delete_leaves_no_container_or_state(
    provider: KindProvider, e2e_versions: tuple[KubeVersion, KubeVersion], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Through SPIN_HARNESS_KIND_NODE_IMAGE, as with a kindest/node image loaded or pullable elsewhere.
    built = build_node_image(e2e_versions[1])
    given = f"example.test/kind-node:{e2e_versions[1]}"
    engine.docker_client().image.tag(built.reference, given)
    monkeypatch.setenv("SPIN_HARNESS_KIND_NODE_IMAGE", "example.test/kind-node:{version}")
    cluster = provider.create(f"kd{os.getpid() % 100000}", e2e_versions[1], nodes=1)
    assert KindState.load(cluster.state_dir).image == given
    names = list(provider.status(cluster))
    assert all(provider.status(cluster).values())
    assert (cluster.kubeconfig.stat().st_mode & 0o777) == 0o600
    provider.delete(cluster)
    assert not Path(cluster.state_dir).exists()
    left = engine.docker_client().container.list(all=True, filters=[("label", f"io.x-k8s.kind.cluster={cluster.name}")])
    engine.docker_client().image.remove(given)
    assert not left, f"containers left: {[c.name for c in left]} (of {names})"
