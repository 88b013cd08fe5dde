"""The k3d provider against recorded k3d and docker output: when it can run, the commands and
config it produces, and ``cluster list``, ``gc`` and ``cluster upgrade`` for its clusters."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness import gc
from harness.errors import ClusterError, VersionError
from harness.images import engine
from harness.providers import UpgradeAction, provider_of, unavailable_reason
from harness.providers.common.owner import Owner
from harness.providers.k3d import provider as k3d
from harness.providers.k3d.state import K3dState, cluster_dir
from harness.versions import KubeVersion

RECORDED = Path(__file__).with_name("data") / "k3d"
PAUSE = "registry.k8s.io/pause:3.10"
COREDNS = "registry.k8s.io/coredns/coredns:v1.12.1"
HELPERS = ["ghcr.io/k3d-io/k3d-tools:5.8.3", "ghcr.io/k3d-io/k3d-proxy:5.8.3"]
EVERYTHING = ["rancher/k3s:v1.36.3-k3s1", "rancher/k3s:v1.37.2-k3s1", *HELPERS, PAUSE, COREDNS]


def engine_with_images(monkeypatch: pytest.MonkeyPatch, images: list[str]) -> None:
    def listed(repository_or_tag: str) -> list[SimpleNamespace]:
        return [SimpleNamespace(repo_tags=[i]) for i in images if i.rsplit(":", 1)[0] == repository_or_tag]

    fake = SimpleNamespace(image=SimpleNamespace(list=listed, exists=images.__contains__))
    monkeypatch.setattr(k3d.engine, "engine_unavailable_reason", lambda: None)
    monkeypatch.setattr(k3d.engine, "docker_client", lambda: fake)
    monkeypatch.setattr(engine, "docker_client", lambda: fake)


class RecordedCli:
    """Stands in for the k3d and docker executables: answers from recordings, remembers every call."""

    def __init__(self, answers: Mapping[str, str] | None = None) -> None:
        self.answers = {
            "k3d node list": (RECORDED / "node-list.json").read_text(),
            "docker container inspect k3d-dev-server-0": (RECORDED / "inspect-server.json").read_text(),
            "docker container inspect k3d-dev-agent-0": (RECORDED / "inspect-agent.json").read_text(),
            "docker exec k3d-dev-server-0 kubectl": "rancher/mirrored-coredns-coredns:1.12.3",
            "k3d kubeconfig get": "apiVersion: v1\nkind: Config\n",
            **(answers or {}),
        }
        self.calls: list[tuple[list[str], dict[str, str]]] = []

    def __call__(self, command: list[str], *, timeout: float, env: Mapping[str, str] | None = None) -> str:
        self.calls.append((command, dict(env or {})))
        line = " ".join(command)
        return next((out for prefix, out in self.answers.items() if line.startswith(prefix)), "")

    def commands(self) -> list[str]:
        return [" ".join(command) for command, _ in self.calls]


@pytest.fixture
def pulls_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PULL", "NO_LB", "TOOLS_IMAGE", "LB_IMAGE", "PAUSE_IMAGE", "COREDNS_IMAGE", "IMAGE"):
        monkeypatch.delenv(f"SPIN_HARNESS_K3D_{name}", raising=False)


def recorded_cluster(*, owner: Owner | None = None, version: str = "v1.36.3", phase: str = "ready") -> K3dState:
    directory = cluster_dir("dev")
    directory.mkdir(parents=True, exist_ok=True)
    st = K3dState("dev", directory, version, 2, 40123, owner, phase, [version])
    st.save()
    (directory / "kubeconfig").write_text("apiVersion: v1\n")
    return st


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, pulls_off: None) -> RecordedCli:
    engine_with_images(monkeypatch, EVERYTHING)
    recorded = RecordedCli()
    monkeypatch.setattr(k3d, "default_runner", recorded)
    original = k3d.K3dProvider.__init__

    def with_recorded_cli(self: k3d.K3dProvider, **options: object) -> None:
        original(self, **{"k3d": "k3d", "runner": recorded, **options})  # type: ignore[arg-type]

    monkeypatch.setattr(k3d.K3dProvider, "__init__", with_recorded_cli)
    yield recorded
    for directory in cluster_dir("dev").parent.glob("*"):
        for child in directory.iterdir():
            child.unlink()
        directory.rmdir()


def test_without_a_k3s_image_the_reason_says_why_none_can_be_built(
    monkeypatch: pytest.MonkeyPatch, pulls_off: None
) -> None:
    engine_with_images(monkeypatch, [])
    reason = unavailable_reason("k3d")
    assert reason is not None
    assert "no rancher/k3s image" in reason and "SPIN_HARNESS_K3D_PULL=1" in reason
    assert "github.com/k3s-io/k3s" in reason and "CGO" in reason


def test_a_present_image_or_allowed_pulls_make_it_available(monkeypatch: pytest.MonkeyPatch, pulls_off: None) -> None:
    engine_with_images(monkeypatch, ["rancher/k3s:v1.36.3-k3s1", *HELPERS, PAUSE, COREDNS])
    assert k3d.K3dProvider().available() is None
    assert k3d.K3dProvider().image_for(KubeVersion(1, 36, 3)) == "rancher/k3s:v1.36.3-k3s1"
    with pytest.raises(ClusterError, match=r"rancher/k3s:v1\.37\.2-k3s1 is not in the Docker engine"):
        k3d.K3dProvider().image_for(KubeVersion(1, 37, 2))
    engine_with_images(monkeypatch, [])
    monkeypatch.setenv("SPIN_HARNESS_K3D_PULL", "1")
    assert k3d.K3dProvider().available() is None


def test_without_an_engine_the_engine_is_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(k3d.engine, "engine_unavailable_reason", lambda: "no Docker engine answers")
    assert k3d.K3dProvider().available() == "no Docker engine answers"


def test_an_air_gapped_host_is_told_every_missing_image(monkeypatch: pytest.MonkeyPatch, pulls_off: None) -> None:
    engine_with_images(monkeypatch, ["rancher/k3s:v1.36.3-k3s1", HELPERS[0]])
    reason = k3d.K3dProvider().available() or ""
    assert "ghcr.io/k3d-io/k3d-proxy:5.8.3" in reason and "k3d-tools" not in reason
    assert "a pause image" in reason and "a CoreDNS image" in reason and "images build" in reason
    assert "rancher/k3s" not in reason
    # Without a load balancer, and with the helper images named by the host, nothing about them is missing.
    monkeypatch.setenv("SPIN_HARNESS_K3D_NO_LB", "1")
    monkeypatch.setenv("SPIN_HARNESS_K3D_TOOLS_IMAGE", "mirror.example/k3d-tools:5.8.3")
    reason = k3d.K3dProvider().available() or ""
    assert "k3d-proxy" not in reason and "mirror.example/k3d-tools:5.8.3" in reason


def test_create_runs_k3d_with_loopback_api_helper_images_and_preloaded_system_images(cli: RecordedCli) -> None:
    cluster = k3d.K3dProvider().create("dev", KubeVersion(1, 36, 3), nodes=2)
    st = K3dState.load(cluster.state_dir)
    create, kubeconfig, coredns, tag, load = cli.calls
    assert create[0] == [
        "k3d", "cluster", "create", "dev", "--image", "rancher/k3s:v1.36.3-k3s1", "--servers", "1", "--agents", "1",
        "--api-port", f"127.0.0.1:{st.api_port}",
        "--kubeconfig-update-default=false", "--kubeconfig-switch-context=false",
        "--k3s-arg", "--disable=traefik,metrics-server@server:*", "--wait", "--timeout", "300s",
        "--k3s-arg", f"--pause-image={PAUSE}@server:*;agent:*",
    ]  # fmt: skip
    assert create[1] == {"K3D_IMAGE_TOOLS": HELPERS[0], "K3D_IMAGE_LOADBALANCER": HELPERS[1]}
    assert kubeconfig[0] == ["k3d", "kubeconfig", "get", "dev"]
    assert coredns[0][:3] == ["docker", "exec", "k3d-dev-server-0"]
    assert tag[0] == ["docker", "tag", COREDNS, "rancher/mirrored-coredns-coredns:1.12.3"]
    assert load[0] == ["k3d", "image", "import", "--cluster", "dev", PAUSE, "rancher/mirrored-coredns-coredns:1.12.3"]
    assert st.phase == "ready" and st.owner is not None and not st.no_lb
    assert (cluster.kubeconfig.stat().st_mode & 0o777) == 0o600


def test_create_without_a_load_balancer_and_on_a_port_no_other_cluster_records(
    cli: RecordedCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind_state = cluster_dir("dev").parent.parent / "kind" / "other"
    kind_state.mkdir(parents=True)
    kind_state.joinpath("cluster.json").write_text(json.dumps({"api_port": 41001, "ingress_port": 41002}))
    picked: list[set[int]] = []
    monkeypatch.setattr(k3d.ports, "pick_free_ports", lambda count, taken: picked.append(set(taken)) or [41003])
    try:
        cluster = k3d.K3dProvider(no_lb=True).create("dev", KubeVersion(1, 36, 3), keep=True)
    finally:
        kind_state.joinpath("cluster.json").unlink()
        kind_state.rmdir()
    assert {41001, 41002} <= picked[0]
    create, env = cli.calls[0]
    assert "--no-lb" in create and "127.0.0.1:41003" in create and "K3D_IMAGE_LOADBALANCER" not in env
    assert K3dState.load(cluster.state_dir).no_lb and K3dState.load(cluster.state_dir).owner is None


def test_cluster_list_rows_include_broken_records(cli: RecordedCli) -> None:
    recorded_cluster(owner=None)
    broken = cluster_dir("gone")
    broken.mkdir()
    (broken / "cluster.json").write_text("{not json")
    rows = {row.name: row.to_json() for row in k3d.K3dProvider().list()}
    assert rows["dev"] == {
        "name": "dev",
        "provider": "k3d",
        "version": "v1.36.3",
        "nodes": 2,
        "phase": "ready",
        "owner": "kept",
        "apiserver": "https://127.0.0.1:40123",
        "kubeconfig": str(cluster_dir("dev") / "kubeconfig"),
        "nodes_list": ["k3d-dev-server-0", "k3d-dev-agent-0"],
    }
    assert rows["gone"] == {"name": "gone", "provider": "k3d", "phase": "broken (see 'spin-harness gc')"}
    assert provider_of("dev") == "k3d"


def test_gc_collects_k3d_clusters_of_gone_owners_and_stopped_kept_ones(
    cli: RecordedCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "engine_unavailable_reason", lambda: "no engine for kind's build containers")
    recorded_cluster(owner=Owner.current())
    assert not [c for c in gc.collect(dry_run=True) if "k3d" in c.what]
    recorded_cluster(owner=Owner(pid=1, create_time=0.0))
    (would,) = [c for c in gc.collect(dry_run=True) if "k3d" in c.what]
    assert would.what == "k3d cluster dev" and "owner process 1 is gone" in would.reason
    assert cluster_dir("dev").exists()
    recorded_cluster(owner=None)
    cli.answers["k3d node list"] = json.dumps(
        [{"name": "k3d-dev-server-0", "role": "server", "runtimeLabels": {"k3d.cluster": "dev"}, "State": {}}]
    )
    (removed,) = [c for c in gc.collect() if "k3d" in c.what]
    assert removed.reason == "none of its node containers is running"
    assert ["k3d", "cluster", "delete", "dev"] in [command for command, _ in cli.calls]
    assert not cluster_dir("dev").exists()


def test_upgrade_plan_replaces_servers_then_agents_then_finishes(cli: RecordedCli) -> None:
    st = recorded_cluster()
    provider = k3d.K3dProvider()
    plan = provider.upgrade_plan(provider.get("dev"), KubeVersion(1, 37, 2))
    assert [a.to_json() for a in plan] == [
        {"name": "replace", "node": "k3d-dev-server-0"},
        {"name": "replace", "node": "k3d-dev-agent-0"},
        {"name": "finish", "node": None},
    ]
    with pytest.raises(VersionError, match="upgrade refused"):
        provider.upgrade_action(provider.get("dev"), KubeVersion(1, 38, 0), plan[0])
    assert K3dState.load(st.directory).version == "v1.36.3"


def test_upgrade_replaces_each_container_keeping_its_volumes_and_records_the_version(cli: RecordedCli) -> None:
    recorded_cluster()
    provider = k3d.K3dProvider()
    upgraded = provider.upgrade(provider.get("dev"), KubeVersion(1, 37, 2))
    assert upgraded.version == KubeVersion(1, 37, 2)
    commands = cli.commands()
    create = next(c for c in commands if c.startswith("docker create"))
    assert create == (
        "docker create --name k3d-dev-server-0-v1-37-2 --volumes-from 5b0c6f1e2a9d --privileged "
        "--hostname k3d-dev-server-0 --tmpfs /run --tmpfs /var/run --network k3d-dev "
        "--env K3S_TOKEN=secret "
        "--env PATH=/var/lib/rancher/k3s/data/cni:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        ":/bin/aux "
        "--label app=k3d --label k3d.cluster=dev --label k3d.role=server "
        "rancher/k3s:v1.37.2-k3s1 server --tls-san 0.0.0.0 --disable=traefik,metrics-server"
    )
    swap = commands[commands.index(create) + 1 : commands.index(create) + 6]
    assert swap == [
        "docker stop k3d-dev-server-0",
        "docker rename k3d-dev-server-0 k3d-dev-server-0-replaced",
        "docker rename k3d-dev-server-0-v1-37-2 k3d-dev-server-0",
        "docker start k3d-dev-server-0",
        "docker rm --force k3d-dev-server-0-replaced",
    ]
    # The agent already ran the new image (a rerun after a failure): it is left alone.
    assert not any("docker create --name k3d-dev-agent-0" in c for c in commands)
    assert commands[-1].startswith("k3d image import --cluster dev")
    st = K3dState.load(upgraded.state_dir)
    assert (st.version, st.phase, st.history) == ("v1.37.2", "ready", ["v1.36.3", "v1.37.2"])


def test_an_unknown_upgrade_action_names_the_known_ones(cli: RecordedCli) -> None:
    recorded_cluster()
    provider = k3d.K3dProvider()
    with pytest.raises(Exception, match="no upgrade action drain"):
        provider.upgrade_action(provider.get("dev"), KubeVersion(1, 37, 2), UpgradeAction("drain", "x"))


def spin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    from harness.cli import main, version_flag

    # Full versions as given: no question to the Go module proxy from a unit test.
    monkeypatch.setattr(version_flag, "version_from_flag", lambda text, config, field: KubeVersion.parse(text))
    capsys.readouterr()
    assert main(["--quiet", *argv]) == 0
    return capsys.readouterr().out


def test_the_cli_lists_plans_and_upgrades_a_k3d_cluster_found_by_name(
    cli: RecordedCli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded_cluster(owner=None)
    (row,) = [r for r in json.loads(spin(monkeypatch, capsys, "cluster", "list", "--json")) if r["name"] == "dev"]
    assert (row["provider"], row["version"]) == ("k3d", "v1.36.3")
    plan = json.loads(spin(monkeypatch, capsys, "cluster", "upgrade-plan", "dev", "--to", "v1.37.2", "--json"))
    assert [a["name"] for a in plan] == ["replace", "replace", "finish"]
    out = spin(
        monkeypatch,
        capsys,
        "cluster",
        "upgrade",
        "dev",
        "--to",
        "v1.37.2",
        "--action",
        "replace",
        "--node",
        plan[0]["node"],
    )
    assert out.strip() == "k3d-dev-server-0 replaced by a container of rancher/k3s:v1.37.2-k3s1"
    assert spin(monkeypatch, capsys, "cluster", "upgrade", "dev", "--to", "v1.37.2").strip() == "v1.37.2"
    assert spin(monkeypatch, capsys, "cluster", "kubeconfig", "dev").strip() == str(cluster_dir("dev") / "kubeconfig")


def test_a_name_two_providers_use_needs_provider(cli: RecordedCli) -> None:
    from harness.errors import InputError
    from harness.providers.local import state as local_state

    recorded_cluster()
    local = local_state.cluster_dir("dev")
    local.mkdir(parents=True)
    (local / "cluster.json").write_text(json.dumps({"name": "dev", "version": "v1.36.3"}))
    try:
        with pytest.raises(InputError, match="providers k3d and local") as ambiguous:
            provider_of("dev")
        assert "--provider" in (ambiguous.value.hint or "")
        assert provider_of("dev", "local") == "local"
        with pytest.raises(ClusterError, match="no cluster named 'nope'"):
            provider_of("nope")
    finally:
        (local / "cluster.json").unlink()
        local.rmdir()
