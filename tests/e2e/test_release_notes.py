"""Release notes reach a real gate's summary.json, verdict and HTML report, and change nothing.

The tenant uses what a real entry of the crossed minor's changelog names (read from the
``k8s.io/kubernetes`` module the toolchain downloaded); the gate must still pass with exit 0.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.tenancy import TENANT_LABEL
from harness.versions import KubeVersion
from tests.e2e.cli import spin

pytestmark = pytest.mark.e2e

NAMESPACE = "tenant-notes"


def _deployment_with_empty_dir() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "scratch-writer", "namespace": NAMESPACE},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "scratch-writer"}},
            "template": {
                "metadata": {"labels": {"app": "scratch-writer"}},
                "spec": {
                    "containers": [
                        {
                            "name": "writer",
                            "image": "registry.example/writer:1",
                            "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
                        }
                    ],
                    "volumes": [{"name": "scratch", "emptyDir": {}}],
                },
            },
        },
    }


def _service_with_external_ips() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "legacy-entry", "namespace": NAMESPACE},
        "spec": {"selector": {"app": "scratch-writer"}, "ports": [{"port": 80}], "externalIPs": ["192.0.2.10"]},
    }


#: crossed minor -> (a real entry of its .0 notes, the term it is matched on, a tenant object using it)
KNOWN: dict[int, tuple[int, str, dict[str, Any]]] = {
    36: (137293, "spec.externalIPs", _service_with_external_ips()),  # "deprecation for Service `.spec.externalIPs`"
    37: (140244, "emptyDir", _deployment_with_empty_dir()),  # "`mode` field on emptyDir volume directories"
}


def test_a_crossed_minors_note_reaches_summary_verdict_and_html_without_changing_the_verdict(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    older, newer = e2e_versions
    if newer.minor not in KNOWN:
        pytest.fail(f"no known release-notes entry for 1.{newer.minor}: add one to KNOWN from its CHANGELOG")
    pr_number, term, tenant_object = KNOWN[newer.minor]
    workloads = tmp_path / "workloads" / NAMESPACE
    workloads.mkdir(parents=True)
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": {TENANT_LABEL: "n"}},
    }
    (workloads / "namespace.yaml").write_text(yaml.safe_dump(namespace))
    manifest = workloads / f"{tenant_object['kind']}-{tenant_object['metadata']['name']}.yaml"
    manifest.write_text(yaml.safe_dump(tenant_object))
    report = tmp_path / "gate"
    result = spin(
        "gate",
        "--from",
        str(older),
        "--to",
        str(newer),
        "--workloads",
        str(tmp_path / "workloads"),
        "--scenarios",
        "none-*",
        "--report",
        str(report),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.stdout.startswith("spin-harness gate: PASS")

    summary = json.loads((report / "summary.json").read_text())
    assert summary["verdict"] == "passed" and summary["counts"]["breaking"] == 0
    (hop,) = summary["cells"][0]["hops"]
    notes = hop["release_notes"]
    assert notes["status"] == "ok", notes["reason"]
    assert notes["hop"] == hop["label"] and notes["considered"] > 0
    assert f"v1.{newer.minor}.0" in notes["changelogs"][-1]["releases"]
    note = next(n for n in notes["notes"] if n["pr_number"] == pr_number)
    assert note["release"] == f"v1.{newer.minor}.0" and note["section"] in ("Deprecation", "API Change")
    assert note["pr"] == f"https://github.com/kubernetes/kubernetes/pull/{pr_number}"
    matched = {m["term"]: m["objects"] for m in note["terms"]}
    assert term in matched and any(manifest.name in who for who in matched[term])

    assert "RELEASE NOTES (information, " in result.stdout
    assert "### Release notes (information)" in (report / "verdict.md").read_text()
    page = (report / "index.html").read_text()
    section = page.split('<h2 id="release-notes">', 1)[1].split("<h2>", 1)[0]
    assert escape(note["text"].splitlines()[0]) in section
    assert f'href="{note["pr"]}"' in section
