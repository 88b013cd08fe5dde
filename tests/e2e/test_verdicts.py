"""Whose failure it is, on real runs: when the harness fails (a toolchain it cannot obtain, a
cluster that will not start, a wait of its own that runs out, a worker that dies) ``run`` and
``gate`` say ERROR and exit 2, never FAIL and 1, whatever else the run found.

The failures are real: the harness really cannot obtain a binary (the only toolchain source is
an empty directory), a real kube-apiserver really refuses to start (it is given a flag it does
not have), a real kube-controller-manager never answers, a real pytest-xdist worker is killed.
Each test works on its own toolchain cache that borrows the real one's verified binaries
(symlinks, nothing is rebuilt or copied) and withholds the ones the test breaks.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.paths import cache_root
from harness.toolchain import goproxy
from harness.toolchain.manifest import Manifest
from harness.versions import KubeVersion
from tests.e2e.cli import spin

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def harness(*args: str, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """``spin-harness ARGS`` in a subprocess with ``env`` added; never raises on a non-zero exit."""
    return spin(*args, timeout=timeout, env=env)


def borrowed_toolchain(
    root: Path, versions: dict[KubeVersion, dict[str, str]], bin_dir: Path | None = None
) -> dict[str, str]:
    """A toolchain cache under ``root`` that borrows the real one's binaries, and the environment
    that makes the harness use it with the directory ``bin_dir`` as its only source.

    Every product but Kubernetes is linked as it is; of Kubernetes only ``versions``, each
    with its components linked one by one except those it maps to a script: those are written
    into ``bin_dir``, from where the harness copies them in (checking their ``--version``) as
    it would binaries an air-gapped site keeps. A version not given cannot be obtained at all.
    """
    real = cache_root() / "toolchain"
    toolchain = root / "toolchain"
    (toolchain / "kubernetes").mkdir(parents=True)
    for entry in real.iterdir():
        if entry.name not in ("kubernetes", "kubernetes-versions.json") and not entry.name.endswith(".lock"):
            (toolchain / entry.name).symlink_to(entry)
    # A fresh copy: the harness re-lists published versions (from the network) when it is old.
    shutil.copy(real / "kubernetes-versions.json", toolchain / "kubernetes-versions.json")
    bin_dir = bin_dir or root / "bin"
    bin_dir.mkdir(exist_ok=True)
    # A withheld version's etcd: one the cache has, so nothing asks the module proxy.
    etcd = next(d.name for d in sorted((real / "etcd").iterdir()) if Manifest.load(d, "etcd", d.name).components)
    for version, scripts in versions.items():
        source = real / "kubernetes" / str(version)
        manifest = Manifest.load(source, "kubernetes", str(version))
        assert manifest.components, f"{version} is not in the toolchain cache: spin-harness toolchain ensure {version}"
        target = toolchain / "kubernetes" / str(version)
        target.mkdir()
        shutil.copy(source / "manifest.json", target / "manifest.json")
        for name in manifest.components:
            if name not in scripts:
                (target / name).symlink_to(source / name)
        for name, script in scripts.items():
            path = bin_dir / name
            path.write_text(f"#!/bin/sh\nREAL={source / name}\n{script}")
            path.chmod(0o755)
    return {
        "SPIN_HARNESS_CACHE": str(root),
        "SPIN_HARNESS_TOOLCHAIN_SOURCES": "dir",
        "SPIN_HARNESS_BIN_DIR": str(bin_dir),
        "SPIN_HARNESS_ETCD_VERSION": etcd,
    }


#: A kube-apiserver that reports its version, and otherwise starts with a flag it does not have.
APISERVER_THAT_WILL_NOT_START = '[ "$1" = "--version" ] && exec "$REAL" --version\nexec "$REAL" "$@" --no-such-flag\n'

#: A kube-controller-manager that reports its version, and otherwise never answers.
CONTROLLER_THAT_NEVER_ANSWERS = '[ "$1" = "--version" ] && exec "$REAL" --version\nexec sleep 600\n'


def write_matrix(path: Path, *paths: tuple[KubeVersion, KubeVersion], outage: float = 60) -> Path:
    """A matrix of one-hop ``paths`` on the local provider, no scenarios."""
    hops = "".join(f'  - hops: ["{a}", "{b}"]\n' for a, b in paths)
    availability = 1.0 if outage == 0 else 0.05
    path.write_text(
        f"name: verdicts\nproviders: [local]\npaths:\n{hops}"
        'scenarios:\n  include: ["*"]\n  exclude: ["*"]\n'
        f"probes:\n  budget: {{api_max_outage_seconds: {outage}, min_availability: {availability}}}\n"
    )
    return path


def summary_of(report: Path) -> dict[str, Any]:
    return json.loads((report / "summary.json").read_text())  # type: ignore[no-any-return]


def test_a_gate_whose_source_toolchain_cannot_be_obtained_is_an_error_not_a_fail(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    """The case that read as "your workloads break": no cluster at all, yet FAIL and exit 1."""
    older, newer = e2e_versions
    env = borrowed_toolchain(tmp_path / "cache", {})  # no Kubernetes version can be obtained
    report = tmp_path / "gate"
    result = harness(
        "gate", "--from", str(older), "--to", str(newer), "--scenarios", "tenant-rbac", "--report", str(report), env=env
    )
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.stdout.startswith(f"spin-harness gate: ERROR   (local:{older}>{newer})"), result.stdout[:500]
    assert "FAIL" not in result.stdout
    line = next(line for line in result.stdout.splitlines() if f"cluster::create@{older}" in line)
    assert "[toolchain]" in line and "cannot provide" in line and f"kubernetes {older}" in line, line
    summary = summary_of(report)
    assert summary["verdict"] == "error" and summary["counts"]["errors"] == 1
    (cell,) = summary["cells"]
    assert cell["verdict"] == "error"
    assert [(e["step"], e["cause"]) for e in summary["errors"]] == [(f"cluster::create@{older}", "toolchain")]
    assert "**ERROR**" in (report / "verdict.md").read_text()
    assert "badge error" in (report / "index.html").read_text()


def test_a_gate_whose_apiserver_will_not_start_is_an_error(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    older, newer = e2e_versions
    # The gate never gets to the target version: it is withheld.
    env = borrowed_toolchain(tmp_path / "cache", {older: {"kube-apiserver": APISERVER_THAT_WILL_NOT_START}})
    report = tmp_path / "gate"
    result = harness(
        "gate", "--from", str(older), "--to", str(newer), "--scenarios", "tenant-rbac", "--report", str(report), env=env
    )
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.stdout.startswith("spin-harness gate: ERROR"), result.stdout[:500]
    summary = summary_of(report)
    [error] = summary["errors"]
    assert (error["step"], error["cause"]) == (f"cluster::create@{older}", "component-crash")
    assert "kube-apiserver exited during start-up" in error["reason"]
    item = summary["cells"][0]["items"][0]
    assert "no-such-flag" in item["message"], "the apiserver's own refusal is in the report"
    assert item["blame"] == "harness"


def test_a_harness_error_in_one_cell_outranks_breaking_findings_in_another(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    """Precedence on a real run: one cell finds a real outage (a breaking finding), the other
    cannot obtain its toolchain. The run is ``error`` and exits 2, and still reports the finding."""
    older, newer = e2e_versions
    withheld = max(v for v in goproxy.published_versions() if v.minor == older.minor - 1)
    env = borrowed_toolchain(tmp_path / "cache", {older: {}, newer: {}})
    matrix = write_matrix(tmp_path / "m.yaml", (older, newer), (withheld, older), outage=0)
    report = tmp_path / "report"
    result = harness("run", str(matrix), "--report", str(report), env=env)
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-2000:]
    summary = summary_of(report)
    verdicts = {c["id"]: c["verdict"] for c in summary["cells"]}
    assert verdicts == {f"local:{older}>{newer}": "failed", f"local:{withheld}>{older}": "error"}
    assert summary["verdict"] == "error"
    breaking = [f for f in summary["findings"] if f["severity"] == "breaking"]
    assert [(f["kind"], f["cell"]) for f in breaking] == [("disruption", f"local:{older}>{newer}")]
    assert [(e["cell"], e["step"], e["cause"]) for e in summary["errors"]] == [
        (f"local:{withheld}>{older}", f"cluster::create@{withheld}", "toolchain")
    ]
    assert "ERROR: the harness failed at 1 step(s)" in result.stderr
    assert f"local:{withheld}>{older} cluster::create@{withheld}: [toolchain]" in result.stderr


def test_a_harness_timeout_during_the_hop_is_an_error(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    """The target's controller-manager never answers: the provider's wait for it runs out
    (60 s), the upgrade playbook fails, and that is the harness's timeout, not a finding."""
    older, newer = e2e_versions
    env = borrowed_toolchain(
        tmp_path / "cache", {older: {}, newer: {"kube-controller-manager": CONTROLLER_THAT_NEVER_ANSWERS}}
    )
    report = tmp_path / "report"
    result = harness("run", str(write_matrix(tmp_path / "m.yaml", (older, newer))), "--report", str(report), env=env)
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-2000:]
    summary = summary_of(report)
    [error] = summary["errors"]
    assert (error["step"], error["cause"]) == (f"upgrade::hop@{newer}", "timeout"), error
    assert "kube-controller-manager" in error["reason"]
    items = {i["phase"]: i for i in summary["cells"][0]["items"]}
    assert items[f"create@{older}"]["outcome"] == "passed"
    assert items[f"health@{newer}"]["outcome"] == "skipped", "the cell could not go on"
    assert items[f"delete@{newer}"]["outcome"] == "passed", "the hung component was removed with its cluster"


def _cluster_process(run: psutil.Process) -> psutil.Process | None:
    """A kube-apiserver some worker of ``run`` started, once there is one."""
    try:
        return next((p for p in run.children(recursive=True) if p.name() == "kube-apiserver"), None)
    except psutil.NoSuchProcess:
        return None


def test_a_killed_worker_is_an_error(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pytest-xdist worker killed while its cell runs: the controlling process records the
    crash as the cell's harness error, and the run exits 2 even though the cell, rescheduled on
    a new worker, may then pass."""
    from harness.providers.local import state
    from harness.providers.local.garbage import teardown

    older, newer = e2e_versions
    states = tmp_path / "state"  # the orphaned cluster of the killed worker is removed from here
    env = {"SPIN_HARNESS_STATE": str(states), "SPIN_HARNESS_QUIET": "1"}
    report = tmp_path / "report"
    matrix = write_matrix(tmp_path / "m.yaml", (older, newer))
    command = [sys.executable, "-m", "harness.cli", "run", str(matrix), "--report", str(report), "-n", "2"]
    run = subprocess.Popen(
        command, cwd=ROOT, env=dict(os.environ, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        parent = psutil.Process(run.pid)
        apiserver = None
        deadline = time.monotonic() + 600
        while apiserver is None and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            apiserver = _cluster_process(parent)
        assert apiserver is not None, "no worker started a cluster"
        worker = apiserver.parent()
        assert worker is not None and worker.pid != run.pid
        worker.send_signal(signal.SIGKILL)
        stdout, stderr = run.communicate(timeout=900)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
        monkeypatch.setenv("SPIN_HARNESS_STATE", str(states))
        for directory in state.clusters_root().glob("cell-*"):
            if directory.is_dir():
                teardown(directory)
    assert run.returncode == 2, stdout[-3000:] + stderr[-2000:]
    summary = summary_of(report)
    assert summary["verdict"] == "error"
    crashed = [e for e in summary["errors"] if e["cause"] == "worker-crash"]
    assert len(crashed) == 1 and crashed[0]["cell"] == f"local:{older}>{newer}", summary["errors"]
    assert "crashed while running" in crashed[0]["reason"]
