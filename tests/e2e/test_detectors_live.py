"""Detectors' snapshot halves against a real apiserver, with regressions planted between snapshots."""

from __future__ import annotations

import contextlib

import pytest
from kubernetes import client

from harness.detectors import discovery, drift, rbac
from harness.findings import Severity
from harness.kube.client import api_client
from harness.kube.waits import wait_until
from harness.plugin import ClusterFactory
from harness.tenancy import TENANT_LABEL
from harness.versions import KubeVersion

pytestmark = pytest.mark.e2e
HOP = "planted"

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "projects.platform.spin.example"},
    "spec": {
        "group": "platform.spin.example",
        "scope": "Namespaced",
        "names": {"plural": "projects", "singular": "project", "kind": "Project"},
        "versions": [
            {
                "name": version,
                "served": True,
                "storage": version == "v1",
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
            for version in ("v1alpha1", "v1")
        ],
    },
}


def test_planted_regressions_are_found_on_a_live_cluster(
    cluster_factory: ClusterFactory, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    cluster = cluster_factory.create(e2e_versions[1])
    with contextlib.closing(api_client(cluster.kubeconfig)) as api:
        core, rbac_api = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
        ext = client.ApiextensionsV1Api(api)
        core.create_namespace({"metadata": {"name": "tenant-alpha", "labels": {TENANT_LABEL: "alpha"}}})
        core.create_namespaced_config_map("tenant-alpha", {"metadata": {"name": "settings"}, "data": {"k": "v"}})
        core.create_namespaced_secret(
            "tenant-alpha", {"metadata": {"name": "db"}, "stringData": {"pw": "s3cr3t-planted"}}
        )
        rbac_api.create_namespaced_role(
            "tenant-alpha",
            {
                "metadata": {"name": "member"},
                "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "create"]}],
            },
        )
        rbac_api.create_namespaced_role_binding(
            "tenant-alpha",
            {
                "metadata": {"name": "member"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "member"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alpha-member"}],
            },
        )
        ext.create_custom_resource_definition(CRD)
        wait_until(
            "the CRD to be served",
            lambda: ("platform.spin.example/v1alpha1" in discovery.snapshot(api), "discovery"),
            timeout=30,
        )

        before = (discovery.snapshot(api), drift.snapshot(api), rbac.snapshot(api))
        assert any(
            "alpha-member" in key and "create apps/deployments" in key and allowed for key, allowed in before[2].items()
        )
        assert "s3cr3t-planted" not in repr(before[1])

        # Plant: stop serving a CRD version, drop a verb, change a value.
        crd = ext.read_custom_resource_definition("projects.platform.spin.example")
        crd.spec.versions[0].served = False
        ext.replace_custom_resource_definition("projects.platform.spin.example", crd)
        rbac_api.patch_namespaced_role(
            "member",
            "tenant-alpha",
            {"rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]}]},
        )
        core.patch_namespaced_config_map("settings", "tenant-alpha", {"data": {"k": "changed"}})
        wait_until(
            "v1alpha1 to leave discovery",
            lambda: ("platform.spin.example/v1alpha1" not in discovery.snapshot(api), "discovery"),
            timeout=30,
        )

        after = (discovery.snapshot(api), drift.snapshot(api), rbac.snapshot(api))

    removed = discovery.compare(before[0], after[0], HOP, in_use={"platform.spin.example/v1alpha1"})
    assert [(f.subject, f.severity) for f in removed] == [("platform.spin.example/v1alpha1", Severity.BREAKING)]

    drifted = drift.compare(before[1], after[1], HOP)
    subjects = {f.subject for f in drifted if f.severity is Severity.BREAKING}
    assert "tenant-alpha/v1/ConfigMap/settings" in subjects
    assert "tenant-alpha/rbac.authorization.k8s.io/v1/Role/member" in subjects

    changed = rbac.compare(before[2], after[2], HOP)
    assert [f.subject for f in changed] == ["User:alpha-member@tenant-alpha create apps/deployments"]
