"""The command line against real clusters: the happy path, and bad input refused cleanly."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.versions import KubeVersion
from tests.e2e.cli import spin

pytestmark = pytest.mark.e2e


def state_dirs() -> list[str]:
    root = Path(os.environ["SPIN_HARNESS_STATE"]) / "clusters"
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


@pytest.fixture
def kept_cluster(e2e_versions: tuple[KubeVersion, KubeVersion]) -> Iterator[tuple[str, Path]]:
    result = spin("cluster", "up", "--version", str(e2e_versions[0]), "--name", "cli-kept", "--nodes", "2")
    assert result.returncode == 0, result.stderr
    kubeconfig = Path(result.stdout.strip())
    yield "cli-kept", kubeconfig
    spin("cluster", "down", "cli-kept")


def test_up_list_kubeconfig_upgrade_down(
    kept_cluster: tuple[str, Path], e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    name, kubeconfig = kept_cluster
    assert kubeconfig.is_file() and kubeconfig.stat().st_mode & 0o777 == 0o600
    assert spin("cluster", "kubeconfig", name).stdout.strip() == str(kubeconfig)
    listing = spin("cluster", "list").stdout
    assert name in listing and str(e2e_versions[0]) in listing and "kept" in listing
    upgraded = spin("cluster", "upgrade", name, "--to", str(e2e_versions[1]))
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == str(e2e_versions[1])
    # A kept cluster survives gc: its owner is the user, not a process.
    assert name not in spin("gc").stdout
    down = spin("cluster", "down", name)
    assert down.returncode == 0, down.stderr
    assert name not in state_dirs()


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("spin-harness: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("version", "needle"),
    [
        ("1.3x", "is not a Kubernetes version"),
        ("v2.0.1", "major version"),
        ("1.36.999", "not published"),
        ("v1.20.1", "older than"),
    ],
)
def test_bad_versions_are_refused(version: str, needle: str) -> None:
    before = state_dirs()
    one_line_error(spin("cluster", "up", "--version", version, "--name", "bad-version"), needle, version)
    assert state_dirs() == before


def test_downgrade_and_skipped_minor_are_refused_unless_forced(
    kept_cluster: tuple[str, Path], e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    name, _ = kept_cluster
    older = e2e_versions[0]
    one_line_error(spin("cluster", "upgrade", name, "--to", f"1.{older.minor - 1}"), "downgrade", "--force")
    one_line_error(spin("cluster", "upgrade", name, "--to", f"1.{older.minor + 2}"), "skips minor", "--force")
    one_line_error(spin("cluster", "upgrade", name, "--to", str(older)), "already runs")
    listing = spin("cluster", "list").stdout
    assert str(older) in listing, "a refused upgrade must leave the cluster as it was"


def test_name_in_use_and_busy_port_are_refused(
    kept_cluster: tuple[str, Path], e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    name, kubeconfig = kept_cluster
    one_line_error(spin("cluster", "up", "--version", str(e2e_versions[0]), "--name", name), "already exists")
    assert kubeconfig.is_file(), "refusing a duplicate name must not touch the existing cluster"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        before = state_dirs()
        one_line_error(
            spin(
                "cluster",
                "up",
                "--version",
                str(e2e_versions[0]),
                "--name",
                "busy-port",
                "--api-port",
                str(port),
            ),
            "already in use",
            str(port),
        )
        assert state_dirs() == before


def test_invalid_name_and_unknown_cluster() -> None:
    one_line_error(spin("cluster", "up", "--version", "1.36", "--name", "Bad_Name"), "not valid")
    # Without --provider, the name is looked for in every provider's clusters.
    one_line_error(spin("cluster", "down", "no-such-cluster"), "no cluster named 'no-such-cluster'")
    one_line_error(spin("cluster", "upgrade", "no-such-cluster", "--to", "1.36"), "no cluster named 'no-such-cluster'")
    one_line_error(spin("cluster", "down", "no-such-cluster", "--provider", "local"), "no local cluster")
