"""Attribution on real control planes: findings name the tenant objects and manifests behind them.

The gate runs on an exported tenant (no change between versions) and on tenant manifests that
use a deprecated API the real apiservers still serve (``v1 Endpoints``, deprecated since 1.33)
or that the source already rejects; a tenant identity (a service account token) requesting the
deprecated API is told apart from the control plane and the harness.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from harness.detectors import deprecation
from harness.detectors.tenancy_snapshot import read_tenancy
from harness.findings import Severity
from harness.kube.client import api_client
from harness.kube.waits import wait_until
from harness.plugin import ClusterFactory
from harness.tenancy import TENANT_LABEL
from harness.versions import KubeVersion
from tests.e2e.cli import spin
from tests.e2e.test_export_replay import populate

pytestmark = pytest.mark.e2e

NAMESPACE = "tenant-climate"
#: Where the evidence of a finding names tenant objects or manifests.
NAMING_FIELDS = ("objects", "manifests", "manifest", "object", "objects_setting_it", "objects_without_it")


def names_a_tenant_object(finding: dict[str, Any]) -> bool:
    evidence = finding.get("evidence", {})
    return any(evidence.get(name) for name in NAMING_FIELDS) or finding["subject"].startswith("tenant-")


def gate(tmp_path: Path, versions: tuple[KubeVersion, KubeVersion], workloads: Path, scenarios: str) -> Any:
    report = tmp_path / "gate"
    result = spin(
        "gate",
        "--from",
        str(versions[0]),
        "--to",
        str(versions[1]),
        "--workloads",
        str(workloads),
        "--scenarios",
        scenarios,
        "--max-outage",
        "300",  # these tests are about attribution; a loaded machine must not fail them on outage
        "--report",
        str(report),
    )
    summary = json.loads((report / "summary.json").read_text()) if (report / "summary.json").is_file() else {}
    return result, summary


def test_a_clean_tenant_gets_no_warning_that_names_no_tenant_object(
    tmp_path: Path, cluster_factory: ClusterFactory, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    production = cluster_factory.create(e2e_versions[0])
    populate(production.kubeconfig)
    export = tmp_path / "export"
    assert spin("export", "--kubeconfig", str(production.kubeconfig), "--out", str(export)).returncode == 0
    result, summary = gate(tmp_path, e2e_versions, export, "tenant-rbac")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    findings = summary["findings"]
    anonymous = [f for f in findings if f["severity"] != "info" and not names_a_tenant_object(f)]
    assert anonymous == [], "warnings a person cannot act on:\n" + "\n".join(f["detail"] for f in anonymous)
    endpoints = [f for f in findings if f["kind"] == "deprecated-api" and f["subject"] == "v1 endpoints"]
    assert endpoints, "the control plane requests v1 endpoints on every cluster: an info finding says so"
    assert all(f["severity"] == "info" and "control-plane" in f["detail"] for f in endpoints)
    about_objects = [f for f in findings if f["kind"] != "disruption"]  # probe timelines name scenario probes
    scenario_objects = [f for f in about_objects if "rbac-seed" in json.dumps(f) or "tenant-owner" in f["subject"]]
    assert scenario_objects == [], "the tenant-rbac scenario's own objects made tenant findings"
    assert "[deprecated-api] v1 endpoints" not in result.stdout, "info findings are not printed as warnings"


def _write(directory: Path, name: str, *documents: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def deprecated_and_broken(
    tmp_path_factory: pytest.TempPathFactory, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> tuple[Any, dict[str, Any], dict[str, Path]]:
    """One gate run over a tenant whose manifests use v1 Endpoints (an external database behind a
    selector-less Service) and hold a ConfigMap every version rejects (a key with a space)."""
    tmp_path = tmp_path_factory.mktemp("attribution")
    workloads = tmp_path / "workloads" / NAMESPACE
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": {TENANT_LABEL: "climate"}},
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "archive-db", "namespace": NAMESPACE},
        "spec": {"ports": [{"port": 5432, "targetPort": 5432}]},
    }
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "archive-db", "namespace": NAMESPACE},
        "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 5432}]}],
    }
    broken = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "run-settings", "namespace": NAMESPACE},
        "data": {"queue name": "short"},
    }
    files = {
        "namespace": _write(workloads, "namespace.yaml", namespace),
        "service": _write(workloads, "Service-archive-db.yaml", service),
        "endpoints": _write(workloads, "Endpoints-archive-db.yaml", endpoints),
        "broken": _write(workloads, "ConfigMap-run-settings.yaml", broken),
    }
    result, summary = gate(tmp_path, e2e_versions, tmp_path / "workloads", "none-*")
    return result, summary, files


def test_a_tenant_manifest_using_a_deprecated_api_is_named_with_its_object(
    deprecated_and_broken: tuple[Any, dict[str, Any], dict[str, Path]],
) -> None:
    result, summary, files = deprecated_and_broken
    assert summary, result.stdout[-3000:] + result.stderr[-2000:]
    [finding] = [f for f in summary["findings"] if f["kind"] == "deprecated-api" and f["subject"] == "v1 endpoints"]
    assert finding["severity"] == "warning", finding
    assert f"{NAMESPACE}/Endpoints/archive-db" in finding["evidence"]["objects"]
    assert str(files["endpoints"]) in finding["evidence"]["manifests"]
    assert any(r["actor"] == "replay" for r in finding["evidence"]["tenant_requests"])
    assert f"{NAMESPACE}/Endpoints/archive-db" in finding["detail"]
    warnings = result.stdout.split("WARNINGS", 1)[1]
    assert "[deprecated-api] v1 endpoints" in warnings and f"{NAMESPACE}/Endpoints/archive-db" in warnings


def test_a_manifest_the_source_already_rejects_is_reported_as_such_not_as_a_new_break(
    deprecated_and_broken: tuple[Any, dict[str, Any], dict[str, Path]],
) -> None:
    result, summary, files = deprecated_and_broken
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.stdout.startswith("spin-harness gate: PASS")
    [finding] = [f for f in summary["findings"] if f["kind"] == "dry-run-rejected"]
    assert finding["severity"] == "warning" and finding["evidence"]["rejected_at_source"] is True
    assert "already rejected at the source" in finding["detail"] and "queue name" in finding["detail"]
    assert finding["evidence"]["manifest"] == str(files["broken"])
    assert finding["evidence"]["object"] == f"{NAMESPACE}/ConfigMap/run-settings"
    assert "already rejected at the source" in result.stdout.split("WARNINGS", 1)[1]
    anonymous = [f for f in summary["findings"] if f["severity"] != "info" and not names_a_tenant_object(f)]
    assert anonymous == [], [f["detail"] for f in anonymous]


def test_a_tenant_identity_is_told_apart_from_the_control_plane_and_the_harness(
    cluster_factory: ClusterFactory, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    cluster = cluster_factory.create(e2e_versions[1])
    with contextlib.closing(api_client(cluster.kubeconfig)) as api:
        core, rbac_api = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
        core.create_namespace({"metadata": {"name": NAMESPACE, "labels": {TENANT_LABEL: "climate"}}})
        core.create_namespaced_service_account(NAMESPACE, {"metadata": {"name": "pipeline"}})
        rule = {"apiGroups": [""], "resources": ["endpoints"], "verbs": ["get", "list"]}
        rbac_api.create_namespaced_role(NAMESPACE, {"metadata": {"name": "read-endpoints"}, "rules": [rule]})
        subject = {"kind": "ServiceAccount", "name": "pipeline", "namespace": NAMESPACE}
        role = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-endpoints"}
        binding = {"metadata": {"name": "pipeline"}, "roleRef": role, "subjects": [subject]}
        rbac_api.create_namespaced_role_binding(NAMESPACE, binding)
        token = core.create_namespaced_service_account_token("pipeline", NAMESPACE, {"spec": {}}).status.token
        core.list_namespaced_endpoints("kube-system")  # the harness's own request: never a tenant's
        service = {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
        core.create_namespaced_service(NAMESPACE, service)  # the endpoint controller writes its Endpoints
        wait_until(
            "the endpoint controller to write the Service's Endpoints",
            lambda: (bool(core.list_namespaced_endpoints(NAMESPACE, field_selector="metadata.name=web").items), ""),
            timeout=60,
        )
        configuration = client.Configuration()
        configuration.host = api.configuration.host
        configuration.ssl_ca_cert = api.configuration.ssl_ca_cert
        configuration.api_key = {"authorization": f"Bearer {token}"}
        with client.ApiClient(configuration) as tenant:
            client.CoreV1Api(tenant).list_namespaced_endpoints(NAMESPACE)
        snapshot = deprecation.attributed(deprecation.from_metrics(api), cluster.audit_log, read_tenancy(api))
    [finding] = [f for f in deprecation.compare(snapshot, "live", e2e_versions[1]) if f.subject == "v1 endpoints"]
    assert finding.severity is Severity.WARNING
    assert finding.evidence["objects"] == [f"{NAMESPACE}/endpoints"]
    [request] = finding.evidence["tenant_requests"]
    assert (request["actor"], request["user"], request["verb"]) == (
        "tenant",
        f"system:serviceaccount:{NAMESPACE}:pipeline",
        "list",
    )
    others = finding.evidence["other_requesters"]
    assert any(o.startswith("control-plane:") for o in others), others
    assert any(o.startswith("harness:") for o in others), others
