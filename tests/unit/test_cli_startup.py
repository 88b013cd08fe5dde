"""The upgrade playbook's cheap steps load only what they use.

The playbook starts ``spin-harness`` once per task (read the version, plan, each action, read
it again). Listing clusters, a plan or a kubeconfig path reads the clusters' records on disk;
importing the Kubernetes or Docker client, rich, pydantic or the toolchain's sources for it
costs most of a second of CPU, which on a machine busy with a cluster's upgrade became ten
seconds a task. These tests run the real command in a fresh interpreter and look at what it
imported: a change that pulls one of those back onto the cheap path fails here, whatever the
machine's speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.providers.common.owner import Owner
from harness.providers.kind.state import KindState
from harness.providers.kind.state import cluster_dir as kind_dir
from harness.providers.local import state as local_state

#: Packages the cheap commands must not import (each costs 50-400 ms of CPU to import).
HEAVY = (
    "kubernetes",
    "python_on_whales",
    "rich",
    "pydantic",
    "jinja2",
    "cryptography",
    "yaml",
    "requests",
    "harness.toolchain.ensure",
    "harness.kube.client",
)

RUN_AND_LIST_MODULES = (
    "import json, sys\n"
    "from harness.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    "raise SystemExit(code)\n"
)


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """One kind and one local cluster's records (no containers or processes behind them)."""
    env = dict(os.environ, SPIN_HARNESS_STATE=str(tmp_path / "state"), SPIN_HARNESS_CACHE=str(tmp_path / "cache"))
    monkeypatch.setenv("SPIN_HARNESS_STATE", env["SPIN_HARNESS_STATE"])
    directory = kind_dir("kc")
    directory.mkdir(parents=True)
    KindState("kc", directory, "v1.36.3", "spin-harness/kind-node:v1.36.3-abc", 2, 40001, 40002, phase="ready").save()
    directory = local_state.cluster_dir("lc")
    directory.mkdir(parents=True)
    local_state.ClusterState("lc", directory, "v1.36.3", "v3.6.8", 1, owner=Owner.current(), phase="ready").save()
    # The target version is checked against the module proxy's list, read from its cache here.
    versions = tmp_path / "cache" / "toolchain" / "kubernetes-versions.json"
    versions.parent.mkdir(parents=True)
    versions.write_text(json.dumps(["v1.36.3", "v1.37.2"]))
    return env


def run_cli(env: dict[str, str], *argv: str) -> tuple[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, "--quiet", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return done.stdout, modules


def loaded(modules: list[str]) -> list[str]:
    return [h for h in HEAVY if any(m == h or m.startswith(f"{h}.") for m in modules)]


@pytest.mark.parametrize("provider", ["kind", "local", None])
def test_listing_reads_records_only(recorded: dict[str, str], provider: str | None) -> None:
    """With ``--provider`` that provider's records, without it every provider's (k3d's too)."""
    flags = ["--provider", provider] if provider else []
    out, modules = run_cli(recorded, "cluster", "list", "--json", *flags)
    rows = sorted((r["name"], r["provider"], r["version"]) for r in json.loads(out))
    expected = [("kc", "kind", "v1.36.3"), ("lc", "local", "v1.36.3")]
    assert rows == [row for row in expected if provider in (None, row[1])]
    assert loaded(modules) == []


def test_the_plan_and_the_kubeconfig_read_records_only(recorded: dict[str, str]) -> None:
    out, modules = run_cli(recorded, "cluster", "upgrade-plan", "kc", "--to", "v1.37.2", "--provider", "kind", "--json")
    assert [(a["name"], a["node"]) for a in json.loads(out)] == [
        ("control-plane", None),
        ("drain", "kc-worker"),
        ("node", "kc-worker"),
        ("uncordon", "kc-worker"),
        ("finish", None),
    ]
    # The target is checked against the module proxy's list, which the toolchain's config names.
    assert loaded(modules) == ["harness.toolchain.ensure"]
    out, modules = run_cli(recorded, "cluster", "kubeconfig", "lc")  # the provider found by name
    assert out.strip().endswith("kubeconfig")
    assert loaded(modules) == []


def test_every_command_is_still_on_the_full_parser() -> None:
    """``--help`` and an unknown command build the whole parser: every command module imports."""
    from harness.cli import COMMANDS, build_parser, named_command

    help_text = build_parser().format_help()
    assert all(name in help_text for name in COMMANDS)
    assert named_command(["--quiet", "cluster", "list"]) == "cluster"
    assert named_command(["--quiet", "clusters"]) is None
    assert named_command(["--help"]) is None
