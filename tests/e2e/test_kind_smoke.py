"""The smoke matrix's kind cell in every CI run: the data plane, across one in-place upgrade.

``spin-harness run matrices/smoke.yaml --provider kind`` runs, as a user would, the cell the
local provider cannot: two real nodes built offline with the Traefik ingress controller, every
scenario, one kubeadm upgrade from the older to the newer of the newest two minors. The steps
the local provider skips (the admission webhook as pods in the cluster, the marker file read
through the global-filesystem mount, HTTPS through the ingress controller, the Job's output, and
their probes during the hop) must each have run and passed in ``summary.json``: a skipped one
fails this test (``tests/e2e/data_plane.py``). The run keeps its cluster, so the same cluster
then answers what a scenario does not check (the node containers kept by the upgrade, a foreign
uid refused by the kernel); the module removes it at the end.

No skip here is allowed under CI (``tests/allowed_skips.py``): ``scripts/test`` starts the
Docker engine, and builds the node images and the Traefik image before pytest.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from harness.errors import ClusterError
from harness.kube.client import api_client
from harness.kube.waits import wait_until
from harness.matrix import load_matrix, select_cells
from harness.paths import scenarios_dir
from harness.providers.base import Cluster
from harness.providers.kind import KindProvider
from harness.providers.kind.state import KindState
from harness.scenarios.load import discover
from harness.toolchain.goproxy import published_versions
from harness.versions import KubeVersion
from tests.e2e.cli import spin
from tests.e2e.data_plane import data_plane_steps, steps_not_run

# The run is the module fixture, and pytest-timeout counts it in the first test's time.
pytestmark = [pytest.mark.e2e, pytest.mark.kind, pytest.mark.timeout(3000)]

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "matrices" / "smoke.yaml"
#: The uid a tenant pod reads its project directory as (any uid but the kubelet's).
UID = 24001


@dataclass
class SmokeCell:
    """The finished run: its exit status, output, summary, the kind cell and its kept cluster."""

    returncode: int
    output: str
    summary: dict[str, Any]
    cell: dict[str, Any]
    cluster: Cluster


@pytest.fixture(scope="module")
def versions() -> tuple[KubeVersion, KubeVersion]:
    """The kind cell's path, as the run resolves the smoke matrix's minors."""
    (cell,) = select_cells(load_matrix(SMOKE, published_versions()), "kind")
    return cell.path.start, cell.path.target


@pytest.fixture(scope="module")
def provider() -> KindProvider:
    provider = KindProvider()
    reason = provider.available()
    if reason:
        pytest.skip(f"kind provider unavailable: {reason}")
    return provider


@pytest.fixture(scope="module")
def smoke(provider: KindProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmokeCell]:
    before = {row.name for row in provider.list()}
    report = tmp_path_factory.mktemp("kind-smoke") / "report"
    try:
        result = spin("run", str(SMOKE), "--provider", "kind", "--keep-clusters", "--report", str(report), timeout=2700)
        output = result.stdout[-6000:] + result.stderr[-3000:]
        summary = json.loads((report / "summary.json").read_text()) if (report / "summary.json").exists() else {}
        cells = [c for c in summary.get("cells", []) if c["id"].startswith("kind:")]
        assert len(cells) == 1, f"expected one kind cell, got {[c['id'] for c in cells]}\n{output}"
        made = [c for c in provider.clusters() if c.name not in before]
        assert len(made) == 1, f"expected the run to keep one kind cluster, found {[c.name for c in made]}"
        yield SmokeCell(result.returncode, output, summary, cells[0], made[0])
    finally:
        remove_new_clusters(provider, before)


def remove_new_clusters(provider: KindProvider, before: set[str]) -> None:
    """Remove every kind cluster the run left, broken records included.

    ``--keep-clusters`` leaves them without an owner, so no ``gc`` would collect them; a run
    stopped midway can leave a record ``clusters()`` cannot read, which ``list()`` still names.
    """
    for row in provider.list():
        if row.name not in before:
            with contextlib.suppress(ClusterError):  # removed meanwhile
                provider.delete_by_name(row.name)


def test_kind_smoke_cell_passes_every_scenario_across_an_in_place_upgrade(
    smoke: SmokeCell, versions: tuple[KubeVersion, KubeVersion]
) -> None:
    # The breakdown of the cell's create (the provider's steps) and hop (the playbook's actions).
    print(json.dumps({"timings": smoke.cell.get("timings"), "hops": [h.get("seconds") for h in smoke.cell["hops"]]}))
    assert smoke.returncode == 0, smoke.output
    assert smoke.summary["verdict"] == "passed" and smoke.cell["verdict"] == "passed"
    older, newer = versions
    assert smoke.cell["id"] == f"kind:{older}>{newer}"
    assert [hop["label"] for hop in smoke.cell["hops"]] == [f"{older}>{newer}"]
    scenarios = sorted(p.name for p in scenarios_dir().iterdir() if (p / "scenario.yaml").is_file())
    phases = [f"setup@{older}", f"verify@{older}", f"during@{newer}", f"verify@{newer}", f"teardown@{newer}"]
    assert smoke.cell["scenarios"] == {name: dict.fromkeys(phases, "passed") for name in scenarios}
    assert not [f for f in smoke.cell["findings"] if f["severity"] == "breaking"]


def test_kind_smoke_runs_every_data_plane_step_of_every_scenario(smoke: SmokeCell) -> None:
    steps = data_plane_steps(discover(scenarios_dir()))
    # The four data paths the local provider cannot show, so that a scenario losing its
    # ``requires`` (or its step) cannot make this test pass by checking less.
    assert {s.scenario for s in steps} >= {"admission-webhooks", "global-fs-mounts", "ingress", "workflows"}
    assert {s.phase for s in steps} >= {"setup", "verify", "during", "teardown"}
    problems = steps_not_run(smoke.cell, steps)
    assert not problems, "data-plane steps that did not run and pass:\n" + "\n".join(problems)


def test_kind_smoke_upgrade_kept_the_node_containers_and_moved_every_node(
    provider: KindProvider, smoke: SmokeCell, versions: tuple[KubeVersion, KubeVersion]
) -> None:
    older, newer = versions
    state = KindState.load(smoke.cluster.state_dir)
    assert state.history == [str(older), str(newer)]
    assert provider._container_ids(smoke.cluster.name) == state.container_ids, "an in-place upgrade keeps them"
    with contextlib.closing(api_client(smoke.cluster.kubeconfig)) as api:
        kubelets = {
            n.metadata.name: n.status.node_info.kubelet_version for n in client.CoreV1Api(api).list_node().items
        }
        assert len(kubelets) == 2 and set(kubelets.values()) == {str(newer)}, kubelets
        assert client.VersionApi(api).get_code().git_version == str(newer)


def run_pod(core: client.CoreV1Api, name: str, spec: dict[str, Any], timeout: float = 90) -> tuple[str, str]:
    """Create a pod in ``default``, wait until it ends, return (phase, log)."""
    core.create_namespaced_pod("default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})

    def ended() -> tuple[bool, str]:
        phase = core.read_namespaced_pod(name, "default").status.phase
        return phase in ("Succeeded", "Failed"), f"phase {phase}"

    wait_until(f"pod {name} to end", ended, timeout=timeout, max_interval=1)
    return core.read_namespaced_pod(name, "default").status.phase, core.read_namespaced_pod_log(name, "default")


def test_a_pod_reads_the_global_filesystem_as_its_own_uid_and_another_uid_is_refused(
    provider: KindProvider, smoke: SmokeCell
) -> None:
    # The scenario reads its marker as the tenant's uid; the kernel's refusal of any other uid
    # (the mount is the host's directory, not a copy) is checked here, on the upgraded cluster.
    state = KindState.load(smoke.cluster.state_dir)
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

    with contextlib.closing(api_client(smoke.cluster.kubeconfig)) as api:
        core = client.CoreV1Api(api)
        phase, log = run_pod(core, "reader", spec(UID))
        assert (phase, log) == ("Succeeded", "written on the host\n")
        phase, log = run_pod(core, "intruder", spec(UID + 1))
        assert phase == "Failed" and "Permission denied" in log, (phase, log)
