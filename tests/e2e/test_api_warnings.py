"""``api-warning`` through the gate on real control planes: what the apiserver warns reaches summary.json.

Two manifests make real apiservers warn:

- a Deployment whose pod template still carries the ``seccomp.security.alpha.kubernetes.io/pod``
  annotation: kube-apiserver's own pod warning, "non-functional in v1.27+", which already held
  at the source, so a warning that says so;
- a custom resource at a CRD version the platform marked deprecated, with a
  ``deprecationWarning`` in Kubernetes' wording announcing it unavailable at the gate's target:
  breaking.

The control run applies the same tenant without either and hears nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.plugin import ClusterFactory
from harness.versions import KubeVersion
from tests.e2e.cli import spin

pytestmark = pytest.mark.e2e

GROUP = "warn.spin.example"
SECCOMP_TEXT = (
    "spec.template.metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; "
    'use the "seccompProfile" field instead'
)


def gadget_text(older: KubeVersion, newer: KubeVersion) -> str:
    return (
        f"{GROUP}/v1beta1 Gadget is deprecated in v1.{older.minor}+, "
        f"unavailable in v1.{newer.minor}+; use {GROUP}/v1 Gadget"
    )


def write_platform(root: Path, warning: str) -> None:
    """A ``gadget-crd`` component whose v1beta1 is deprecated with ``warning`` (v1 and v2 alike)."""
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [
                {
                    "name": "v1beta1",
                    "served": True,
                    "storage": False,
                    "deprecated": True,
                    "deprecationWarning": warning,
                    "schema": schema,
                },
                {"name": "v1", "served": True, "storage": True, "schema": schema},
            ],
        },
    }
    for version in ("v1", "v2"):
        directory = root / "gadget-crd" / version
        directory.mkdir(parents=True)
        (directory / "crd.yaml").write_text(yaml.safe_dump(crd))


def write_tenant(root: Path, *, planted: bool) -> dict[str, Path]:
    """tenant-alpha: a namespace, a Deployment and a Gadget; ``planted`` makes both warn."""
    tenant = root / "tenant-alpha"
    tenant.mkdir(parents=True)
    annotations = {"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"} if planted else {}
    documents: dict[str, dict[str, Any]] = {
        "namespace.yaml": {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "tenant-alpha", "labels": {"platform.spin.example/tenant": "alpha"}},
        },
        "Deployment-web.yaml": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "tenant-alpha"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}, "annotations": annotations},
                    "spec": {"containers": [{"name": "web", "image": "registry.example/web:1"}]},
                },
            },
        },
        "Gadget-probe.yaml": {
            "apiVersion": f"{GROUP}/{'v1beta1' if planted else 'v1'}",
            "kind": "Gadget",
            "metadata": {"name": "probe", "namespace": "tenant-alpha"},
            "spec": {"size": 3},
        },
    }
    paths = {}
    for name, body in documents.items():
        (tenant / name).write_text(yaml.safe_dump(body))
        paths[name] = tenant / name
    return paths


def run_gate(
    tmp_path: Path, versions: tuple[KubeVersion, KubeVersion], monkeypatch: pytest.MonkeyPatch, *, planted: bool
) -> tuple[int, dict[str, Any], dict[str, Path]]:
    older, newer = versions
    platform = tmp_path / "platform"
    write_platform(platform, gadget_text(older, newer))
    paths = write_tenant(tmp_path / "workloads", planted=planted)
    report = tmp_path / "gate"
    monkeypatch.setenv("SPIN_HARNESS_PLATFORM", str(platform))
    result = spin(
        "gate",
        "--from",
        str(older),
        "--to",
        str(newer),
        "--workloads",
        str(tmp_path / "workloads"),
        "--component",
        "gadget-crd=v1:v2",
        "--scenarios",
        "none-*",
        "--max-outage",
        "300",  # this test is about warnings: an apiserver restart on a busy machine is not its subject
        "--report",
        str(report),
    )
    summary_path = report / "summary.json"
    assert summary_path.is_file(), result.stdout[-3000:] + result.stderr[-3000:]
    return result.returncode, json.loads(summary_path.read_text()), paths


def test_replay_prints_what_the_real_apiserver_warns_and_nothing_for_a_clean_tenant(
    tmp_path: Path, cluster_factory: ClusterFactory, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    cluster = cluster_factory.create(e2e_versions[0])
    planted = write_tenant(tmp_path / "planted", planted=True)
    planted["Gadget-probe.yaml"].unlink()  # no CRD here: the pod template's warning is the one heard
    result = spin("replay", str(tmp_path / "planted"), "--kubeconfig", str(cluster.kubeconfig))
    assert result.returncode == 0, result.stdout + result.stderr
    warned = [line for line in result.stdout.splitlines() if line.startswith("WARNING ")]
    assert warned == [f"WARNING apps/v1 Deployment tenant-alpha/web ({planted['Deployment-web.yaml']}): {SECCOMP_TEXT}"]
    clean = write_tenant(tmp_path / "clean", planted=False)
    clean["Gadget-probe.yaml"].unlink()
    result = spin("replay", str(tmp_path / "clean"), "--kubeconfig", str(cluster.kubeconfig))
    assert result.returncode == 0 and "WARNING" not in result.stdout, result.stdout


def test_the_gate_reports_what_the_apiserver_warns_and_fails_on_an_announced_stop(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion], monkeypatch: pytest.MonkeyPatch
) -> None:
    older, newer = e2e_versions
    code, summary, paths = run_gate(tmp_path, e2e_versions, monkeypatch, planted=True)
    warned = {f["evidence"]["object"]: f for f in summary["findings"] if f["kind"] == "api-warning"}
    assert sorted(warned) == ["apps/v1 Deployment tenant-alpha/web", f"{GROUP}/v1beta1 Gadget tenant-alpha/probe"], (
        json.dumps(summary["findings"], indent=1)[:4000]
    )
    hop = f"{older}>{newer}+gadget-crd@v2"

    gadget = warned[f"{GROUP}/v1beta1 Gadget tenant-alpha/probe"]
    text = gadget_text(older, newer)
    assert (gadget["severity"], gadget["hop"], gadget["subject"]) == (
        "breaking",
        hop,
        f"{GROUP}/v1beta1 Gadget tenant-alpha/probe: {text}",
    )
    evidence = gadget["evidence"]
    assert evidence["server_text"] == text
    assert evidence["manifest"] == str(paths["Gadget-probe.yaml"])
    assert "document" in evidence and (evidence["document"] is None or isinstance(evidence["document"], int))
    assert (evidence["version"], evidence["source_version"]) == (str(newer), str(older))
    assert (evidence["said_at_source"], evidence["said_at_target"], evidence["stops_in"]) == (
        True,
        True,
        f"v1.{newer.minor}",
    )
    assert {"replay@" + str(older), "dry-run@" + str(newer), "re-apply@" + str(newer)} <= set(evidence["heard"])
    assert f"/apis/{GROUP}/v1beta1/namespaces/tenant-alpha/gadgets/probe" in evidence["request"]

    deployment = warned["apps/v1 Deployment tenant-alpha/web"]
    assert (deployment["severity"], deployment["subject"]) == (
        "warning",
        f"apps/v1 Deployment tenant-alpha/web: {SECCOMP_TEXT}",
    )
    evidence = deployment["evidence"]
    assert (evidence["server_text"], evidence["manifest"]) == (SECCOMP_TEXT, str(paths["Deployment-web.yaml"]))
    # The replay created it at the source; the dry-run created it on the scratch cluster at the
    # target (a re-apply of an unchanged Deployment draws no pod-template warnings).
    assert (evidence["version"], evidence["said_at_source"], evidence["stops_in"]) == (str(newer), True, "v1.27")
    assert "already stopped working in v1.27" in deployment["detail"]

    assert code == 1 and summary["verdict"] == "failed"
    breaking = [f for f in summary["findings"] if f["severity"] == "breaking"]
    assert [f["kind"] for f in breaking] == ["api-warning"]


def test_a_tenant_the_apiserver_does_not_warn_about_yields_no_api_warning(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, summary, _ = run_gate(tmp_path, e2e_versions, monkeypatch, planted=False)
    assert [f for f in summary["findings"] if f["kind"] == "api-warning"] == []
    items = [item["nodeid"] for cell in summary["cells"] for item in cell["items"]]
    assert any("detectors::api-warning@" in item for item in items), "the detector ran"
    assert code == 0, json.dumps(summary["findings"], indent=1)[:3000]


SCENARIO = """\
name: legacy-seccomp
description: A tenant pod that still carries the seccomp annotation.
promise: The pod is admitted.
setup:
  - name: the tenant namespace
    apply: {template: namespaces.yaml.j2}
  - name: a settings map and a pod with the old seccomp annotation
    apply: {template: pod.yaml.j2}
verify:
  - name: the pod exists
    assert: {kind: Pod, name: legacy, namespace: "{{ tenant.namespace }}", timeout: 10}
teardown:
  - name: the namespace
    delete: {template: namespaces.yaml.j2}
"""
NAMESPACES = """\
apiVersion: v1
kind: Namespace
metadata:
  name: {{ tenant.namespace }}
  labels: {platform.spin.example/tenant: {{ tenant.name }}}
"""
POD = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: "{{ tenant.namespace }}"}
data: {mode: legacy}
---
apiVersion: v1
kind: Pod
metadata:
  name: legacy
  namespace: {{ tenant.namespace }}
  annotations: {seccomp.security.alpha.kubernetes.io/pod: runtime/default}
spec:
  containers: [{name: main, image: registry.example/main:1}]
"""
POD_TEXT = (
    "metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; "
    'use the "seccompProfile" field instead'
)


def test_a_scenario_apply_step_warning_reaches_summary_from_a_matrix_run(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion], monkeypatch: pytest.MonkeyPatch
) -> None:
    older, newer = e2e_versions
    scenario = tmp_path / "scenarios" / "legacy-seccomp"
    scenario.mkdir(parents=True)
    for name, text in (("scenario.yaml", SCENARIO), ("namespaces.yaml.j2", NAMESPACES), ("pod.yaml.j2", POD)):
        (scenario / name).write_text(text)
    matrix = tmp_path / "m.yaml"
    matrix.write_text(
        "name: warned\nproviders: [local]\n"
        f'paths:\n  - hops: ["{older}", "{newer}"]\n'
        'scenarios:\n  include: ["legacy-seccomp"]\n'
        "probes:\n  budget:\n    api_max_outage_seconds: 60\n    min_availability: 0.05\n"
    )
    monkeypatch.setenv("SPIN_HARNESS_SCENARIOS", str(tmp_path / "scenarios"))
    result = spin("run", str(matrix), "--report", str(tmp_path / "report"))
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    warned = sorted((f for f in summary["findings"] if f["kind"] == "api-warning"), key=lambda f: f["subject"])
    assert [f["subject"] for f in warned] == [
        f"v1 Pod tenant-alpha/legacy: {POD_TEXT}",
        f"v1 Pod tenant-beta/legacy: {POD_TEXT}",
    ], json.dumps(summary["findings"], indent=1)[:4000]
    finding = warned[0]
    # only the harness's own scenario objects drew it: recorded, but never a tenant warning
    assert (finding["severity"], finding["hop"]) == ("info", f"{older}>{newer}")
    assert "drawn only by the harness's own scenario objects" in finding["detail"]
    evidence = finding["evidence"]
    assert (evidence["manifest"], evidence["document"]) == (str(scenario / "pod.yaml.j2"), 2)
    assert (evidence["server_text"], evidence["version"]) == (POD_TEXT, str(older))
    # setup ran at the source only; an unchanged pod re-applied at the target draws no warning
    assert (evidence["said_at_source"], evidence["said_at_target"]) == (True, False)
    assert evidence["heard"] == [f"scenario legacy-seccomp setup@{older}"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
