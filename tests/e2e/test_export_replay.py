"""Export from a populated cluster, replay into an empty one; no Secret value leaves the cluster."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from harness.kube.client import api_client
from harness.plugin import ClusterFactory
from harness.tenancy import TENANT_LABEL
from harness.versions import KubeVersion
from tests.e2e.cli import spin

pytestmark = pytest.mark.e2e
PLANTED = "planted-secret-4f9c2e"


def populate(kubeconfig: Path) -> None:
    with contextlib.closing(api_client(kubeconfig)) as api:
        core, apps, batch = client.CoreV1Api(api), client.AppsV1Api(api), client.BatchV1Api(api)
        rbac = client.RbacAuthorizationV1Api(api)
        ns = "tenant-alpha"
        core.create_namespace(
            {
                "metadata": {
                    "name": ns,
                    "labels": {TENANT_LABEL: "alpha", "pod-security.kubernetes.io/enforce": "baseline"},
                }
            }
        )
        core.create_namespaced_config_map(ns, {"metadata": {"name": "settings"}, "data": {"mode": "batch"}})
        core.create_namespaced_secret(ns, {"metadata": {"name": "db"}, "stringData": {"password": PLANTED}})
        core.create_namespaced_service_account(ns, {"metadata": {"name": "runner"}})
        core.create_namespaced_service(
            ns,
            {
                "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
            },
        )
        core.create_namespaced_persistent_volume_claim(
            ns,
            {
                "metadata": {"name": "scratch"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            },
        )
        template = {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "serviceAccountName": "runner",
                "containers": [
                    {
                        "name": "web",
                        "image": "registry.example/web:1",
                        "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
                    }
                ],
            },
        }
        apps.create_namespaced_deployment(
            ns,
            {
                "metadata": {"name": "web"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template},
            },
        )
        batch.create_namespaced_cron_job(
            ns,
            {
                "metadata": {"name": "nightly"},
                "spec": {
                    "schedule": "0 3 * * *",
                    "jobTemplate": {
                        "spec": {
                            "template": {
                                "spec": {
                                    "restartPolicy": "OnFailure",
                                    "containers": [{"name": "job", "image": "registry.example/job:1"}],
                                }
                            }
                        }
                    },
                },
            },
        )
        rbac.create_namespaced_role(
            ns,
            {
                "metadata": {"name": "member"},
                "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "update"]}],
            },
        )
        rbac.create_namespaced_role_binding(
            ns,
            {
                "metadata": {"name": "member"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "member"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alpha-member"}],
            },
        )


def test_export_replays_into_an_empty_cluster_without_secret_values(
    tmp_path: Path, cluster_factory: ClusterFactory, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    source = cluster_factory.create(e2e_versions[0])
    populate(source.kubeconfig)
    out = tmp_path / "export"
    exported = spin("export", "--kubeconfig", str(source.kubeconfig), "--all-tenants", "--out", str(out))
    assert exported.returncode == 0, exported.stderr

    index = yaml.safe_load((out / "index.yaml").read_text())
    kinds = {entry["kind"] for entry in index["namespaces"]["tenant-alpha"]}
    assert {
        "Namespace",
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "Service",
        "Deployment",
        "CronJob",
        "Role",
        "RoleBinding",
        "PersistentVolumeClaim",
    } <= kinds
    assert not {"Pod", "ReplicaSet", "Event"} & kinds, "generated objects must not be exported"
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert PLANTED not in text, f"secret value leaked into {path}"
            assert "resourceVersion" not in text and "managedFields" not in text, path
    secret = yaml.safe_load((out / "tenant-alpha" / "Secret-db.yaml").read_text())
    assert list(secret["stringData"]) == ["password"]
    service = yaml.safe_load((out / "tenant-alpha" / "Service-web.yaml").read_text())
    assert "clusterIP" not in service["spec"]

    target = cluster_factory.create(e2e_versions[0])
    replayed = spin("replay", str(out), "--kubeconfig", str(target.kubeconfig))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    again = spin("replay", str(out), "--kubeconfig", str(target.kubeconfig))
    assert again.returncode == 0, "replay must be idempotent"
    with contextlib.closing(api_client(target.kubeconfig)) as api:
        assert client.AppsV1Api(api).read_namespaced_deployment("web", "tenant-alpha").spec.replicas == 2
        labels = client.CoreV1Api(api).read_namespace("tenant-alpha").metadata.labels
        assert labels[TENANT_LABEL] == "alpha"


def test_export_refuses_a_non_empty_directory_and_unknown_namespace(
    tmp_path: Path, cluster_factory: ClusterFactory, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    cluster = cluster_factory.create(e2e_versions[1])
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("keep me")
    busy = spin("export", "--kubeconfig", str(cluster.kubeconfig), "--out", str(tmp_path / "used"))
    assert busy.returncode == 2 and "not empty" in busy.stderr
    assert (tmp_path / "used" / "x").read_text() == "keep me"
    missing = spin(
        "export", "--kubeconfig", str(cluster.kubeconfig), "--namespaces", "nope", "--out", str(tmp_path / "new")
    )
    assert missing.returncode == 2 and "'nope' does not exist" in missing.stderr
