"""Workload input in every shape, for real: helm renders a chart, replay applies a mixed folder.

The chart under ``tests/charts`` is rendered by the helm spin-harness builds from its Go module
(``toolchain ensure-tool helm``: built into the cache the first time, reused after); the folder
mixes ``.yaml``, ``.yml`` and ``.json`` files, a ``kubectl get -o yaml`` List with the server's
bookkeeping still in it, a multi-document file with empty documents and comments, a nested
folder, a chart, and files that are not read; a real control plane receives it all.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from harness.errors import InputError
from harness.kube.client import api_client
from harness.plugin import ClusterFactory
from harness.toolchain.tools import ensure_tool
from harness.versions import KubeVersion
from harness.workloads.helm import render_chart
from harness.workloads.read import read_workloads
from tests.e2e.cli import spin

pytestmark = pytest.mark.e2e
CHARTS = Path(__file__).resolve().parents[1] / "charts"


@pytest.fixture(scope="module")
def helm() -> Path:
    """The helm binary, built from helm.sh/helm/v3 into the toolchain cache when missing."""
    return ensure_tool("helm")


def test_helm_template_renders_the_chart_with_its_values_files(helm: Path) -> None:
    defaults = render_chart(CHARTS / "shop", [], helm=helm)
    assert [(m.body["kind"], m.body["metadata"]["name"]) for m in defaults] == [
        ("ConfigMap", "shop-settings"),
        ("Deployment", "shop-web"),
    ]
    assert defaults[0].source == CHARTS / "shop" / "templates" / "config.yaml"
    assert defaults[1].body["spec"]["replicas"] == 1

    prod = render_chart(CHARTS / "shop", [CHARTS / "prod-values.yaml"], helm=helm)
    by_name = {m.body["metadata"]["name"]: m for m in prod}
    assert by_name["shop-web"].body["spec"]["replicas"] == 3
    cache = by_name["shop-cache"]
    assert (cache.source.name, cache.document, cache.chart) == ("config.yaml", 2, CHARTS / "shop")
    assert cache.body["data"] == {"size": "64Mi"}

    with pytest.raises(InputError) as broken:
        render_chart(CHARTS / "broken", [], helm=helm)
    assert str(broken.value).startswith(f"{CHARTS / 'broken'}: helm template failed")
    assert "missing" in str(broken.value)


def mixed_folder(top: Path) -> None:
    """Every shape at once, in namespace tenant-mixed (plus the chart's tenant-shop)."""
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-mixed"}}

    def cm(name: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "tenant-mixed"}}

    top.mkdir()
    (top / "00-namespaces.yml").write_text(
        "# namespaces first\n---\n"
        + yaml.safe_dump(namespace)
        + "---\n---\n# an empty document\n---\n"
        + yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-shop"}})
    )
    live = cm("from-kubectl") | {"data": {"a": "1"}}
    live["metadata"] |= {"uid": "0b0d", "resourceVersion": "4711", "creationTimestamp": "2026-01-01T00:00:00Z"}
    listing = {"apiVersion": "v1", "kind": "List", "items": [live, cm("second-item")], "metadata": {}}
    (top / "kubectl-get.yaml").write_text(yaml.safe_dump(listing))
    (top / "nested" / "deeper").mkdir(parents=True)
    (top / "nested" / "deeper" / "one.json").write_text(json.dumps(cm("from-json")))
    (top / "nested" / "list.json").write_text(json.dumps(listing | {"items": [cm("json-list")]}))
    shutil.copytree(CHARTS / "shop", top / "charts" / "shop")
    (top / "README.md").write_text("what these files are\n")
    (top / ".git").mkdir()
    (top / ".git" / "HEAD").write_text("ref: refs/heads/main\n")


def test_replay_applies_a_folder_mixing_every_shape(
    tmp_path: Path, helm: Path, cluster_factory: ClusterFactory, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    top = tmp_path / "tenants"
    mixed_folder(top)
    found = read_workloads([top])
    assert found.ignored == [top / "README.md"] and found.hidden == [top / ".git"]
    cluster = cluster_factory.create(e2e_versions[1])
    replayed = spin("replay", str(top), "--kubeconfig", str(cluster.kubeconfig))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert f"ignored 1 file(s) that are not .yaml/.yml/.json: {top / 'README.md'}" in replayed.stdout
    assert "skipped 1 hidden" in replayed.stdout
    assert f"{len(found.manifests)} applied, 0 rejected" in replayed.stdout

    # The chart again, as its own input with production values: the Deployment scales to 3.
    with_values = spin(
        "replay",
        str(top / "charts" / "shop"),
        "--values",
        str(CHARTS / "prod-values.yaml"),
        "--kubeconfig",
        str(cluster.kubeconfig),
    )
    assert with_values.returncode == 0, with_values.stdout + with_values.stderr
    with contextlib.closing(api_client(cluster.kubeconfig)) as api:
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        names = {c.metadata.name for c in core.list_namespaced_config_map("tenant-mixed").items}
        assert {"from-kubectl", "second-item", "from-json", "json-list"} <= names
        assert core.read_namespaced_config_map("shop-cache", "tenant-shop").data == {"size": "64Mi"}
        assert apps.read_namespaced_deployment("shop-web", "tenant-shop").spec.replicas == 3

    (top / "nested" / "bad.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\nkind: [\n")
    bad = spin("replay", str(top), "--kubeconfig", str(cluster.kubeconfig))
    assert bad.returncode == 2
    assert f"{top / 'nested' / 'bad.yaml'}:6:1: document 2: invalid YAML" in bad.stderr


def test_gate_replays_every_shape_and_its_verdict_names_what_it_did_not_read(
    tmp_path: Path, helm: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    older, newer = e2e_versions
    top = tmp_path / "tenants"
    mixed_folder(top)
    shutil.rmtree(top / "charts")  # the chart comes as its own input, with production values
    report = tmp_path / "gate"
    result = spin(
        "gate",
        "--from",
        str(older),
        "--to",
        str(newer),
        "--workloads",
        str(top),
        "--workloads",
        str(CHARTS / "shop"),
        "--values",
        str(CHARTS / "prod-values.yaml"),
        "--scenarios",
        "none-*",
        # This test is about the input; a busy test machine may stall the apiserver past 15 s.
        "--max-outage",
        "300",
        "--report",
        str(report),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"workloads: ignored 1 file(s) that are not .yaml/.yml/.json: {top / 'README.md'}" in result.stdout
    matrix = yaml.safe_load((report / "matrix.yaml").read_text())
    assert matrix["workloads"] == [
        str(top),
        {"chart": str(CHARTS / "shop"), "values": [str(CHARTS / "prod-values.yaml")]},
    ]
    summary = json.loads((report / "summary.json").read_text())
    assert summary["workload_inputs"]["ignored"] == [str(top / "README.md")]
    assert summary["workload_inputs"]["hidden"] == 1
    replay = [i for c in summary["cells"] for i in c["items"] if i["scenario"] == "workloads"]
    assert replay and all(i["outcome"] == "passed" for i in replay)
    verdict = (report / "verdict.md").read_text()
    assert "### Input not read" in verdict and f"{top / 'README.md'} (not .yaml/.yml/.json)" in verdict
