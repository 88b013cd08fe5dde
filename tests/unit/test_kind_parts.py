"""The pure parts of the kind provider: cluster config, pod network, upgrade plan, the runtime wrapper."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import ipaddress
import json
import threading
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import InputError
from harness.images import kind_load
from harness.progress import no_progress
from harness.providers import Cluster, UpgradeAction, get_provider
from harness.providers.common.background import Abandoned
from harness.providers.common.steps import Steps
from harness.providers.kind import drain, kubeadm_upgrade, network, tools
from harness.providers.kind import nodes as kind_nodes
from harness.providers.kind import provider as kind_provider
from harness.providers.kind import webhook as kind_webhook
from harness.providers.kind.config import (
    CONTROL_PLANE_COMPONENTS,
    GLOBAL_FS_ROOT,
    INGRESS_NODE_PORT,
    KUBEADM_PATCHES,
    KindClusterConfig,
    kubeadm_patches,
)
from harness.providers.kind.plan import upgrade_plan
from harness.providers.kind.state import KindState
from harness.providers.kind.tools import KindTimeouts
from harness.versions import KubeVersion

ROOT = Path(__file__).resolve().parents[2]


def config(nodes: int = 2, *, cgroup_v1: bool = True, minor: int = 36) -> KindClusterConfig:
    return KindClusterConfig(
        name="c1",
        image="spin-harness/kind-node:v1.36.3-abc",
        version=KubeVersion(1, minor, 3),
        nodes=nodes,
        api_port=40001,
        ingress_port=40002,
        global_fs_host=Path("/state/c1/global-fs"),
        audit_policy_host=Path("/state/c1/audit-policy.yaml"),
        audit_dir_host=Path("/state/c1/audit"),
        patches_host=Path("/state/c1/kubeadm-patches"),
        cgroup_v1=cgroup_v1,
    )


def test_the_control_plane_gets_the_kubeadm_patches_at_init() -> None:
    rendered = config(2).render()
    nodes = yaml.safe_load(rendered)["nodes"]
    patches = {"hostPath": "/state/c1/kubeadm-patches", "containerPath": KUBEADM_PATCHES, "readOnly": True}
    assert patches in nodes[0]["extraMounts"] and patches not in nodes[1]["extraMounts"]
    init = [yaml.safe_load(p) for p in yaml.safe_load(rendered)["kubeadmConfigPatches"]]
    assert {"kind": "InitConfiguration", "patches": {"directory": KUBEADM_PATCHES}} in init


def test_every_static_pods_startup_probe_looks_every_second_with_kubeadms_failure_budget() -> None:
    patches = {name: yaml.safe_load(text) for name, text in kubeadm_patches().items()}
    static_pods = sorted(f"{c}+strategic.yaml" for c in CONTROL_PLANE_COMPONENTS)
    assert sorted(patches) == sorted([*static_pods, "corednsdeployment+strategic.yaml"])
    for component in CONTROL_PLANE_COMPONENTS:
        spec = patches[f"{component}+strategic.yaml"]["spec"]
        [container] = spec["containers"]  # merged into kubeadm's container by name
        assert container["name"] == component
        probe = container["startupProbe"]
        assert probe["periodSeconds"] == 1 and probe["initialDelaySeconds"] == 0
        # kubeadm allows 10 s + 24 tries x 10 s before the kubelet restarts a component that refuses
        assert probe["periodSeconds"] * probe["failureThreshold"] >= 10 + 24 * 10
        assert probe["timeoutSeconds"] <= 15  # a hanging probe gives up no later than kubeadm's
        assert set(container) == {"name", "startupProbe"}  # liveness and readiness stay kubeadm's
    specs = {c: patches[f"{c}+strategic.yaml"]["spec"] for c in CONTROL_PLANE_COMPONENTS}
    grace = {c: spec.get("terminationGracePeriodSeconds") for c, spec in specs.items()}
    assert grace == {"etcd": None, "kube-apiserver": 5, "kube-controller-manager": None, "kube-scheduler": None}


def test_corednss_readiness_looks_every_second_and_still_takes_30_s_of_failures_to_drop_a_replica() -> None:
    patch = yaml.safe_load(kubeadm_patches()["corednsdeployment+strategic.yaml"])
    [container] = patch["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "coredns" and set(container) == {"name", "readinessProbe"}
    probe = container["readinessProbe"]
    assert probe["periodSeconds"] == 1
    assert probe["periodSeconds"] * probe["failureThreshold"] == 3 * 10  # kubeadm's: the default 3 of 10 s


def test_config_publishes_only_on_loopback_and_mounts_the_global_fs_everywhere() -> None:
    rendered = yaml.safe_load(config(3).render())
    assert rendered["networking"]["apiServerAddress"] == "127.0.0.1"
    assert rendered["networking"]["apiServerPort"] == 40001
    roles = [n["role"] for n in rendered["nodes"]]
    assert roles == ["control-plane", "worker", "worker"]
    assert [n["labels"]["platform.spin.example/pool"] for n in rendered["nodes"]] == [
        "control-plane",
        "workers",
        "workers",
    ]
    for node in rendered["nodes"]:
        assert node["image"] == "spin-harness/kind-node:v1.36.3-abc"
        assert {"hostPath": "/state/c1/global-fs", "containerPath": GLOBAL_FS_ROOT} in node["extraMounts"]
    mappings = rendered["nodes"][0]["extraPortMappings"]
    assert mappings == [
        {"containerPort": INGRESS_NODE_PORT, "hostPort": 40002, "listenAddress": "127.0.0.1", "protocol": "TCP"}
    ]
    assert all("extraPortMappings" not in n for n in rendered["nodes"][1:])


def test_config_tells_kubelets_about_cgroup_v1_only_on_such_hosts() -> None:
    assert "failCgroupV1: false" in config(cgroup_v1=True).render()
    assert "failCgroupV1" not in config(cgroup_v1=False).render()


def test_config_adds_audit_flags_to_kinds_own_apiserver_args() -> None:
    rendered = yaml.safe_load(config().render())
    (patch,) = rendered["kubeadmConfigPatchesJSON6902"]
    assert patch["version"] == "v1beta4"
    operations = yaml.safe_load(patch["patch"])
    added = {op["value"]["name"]: op["value"]["value"] for op in operations if op["path"] == "/apiServer/extraArgs/-"}
    assert added["audit-log-path"] == "/var/log/kubernetes/audit.log"
    assert config(minor=30).kubeadm_api == "v1beta3"


def test_bridge_conflist_is_one_node_pod_cidr() -> None:
    conf = json.loads(network.bridge_conflist("10.244.1.0/24"))
    bridge, portmap = conf["plugins"]
    assert bridge["type"] == "bridge" and portmap["type"] == "portmap"
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.244.1.0/24"}]]


node_indexes = st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=8, unique=True)


@given(node_indexes)
def test_every_node_routes_to_every_other_node_and_never_to_itself(indexes: list[int]) -> None:
    nodes = [
        network.NodeNetwork(f"c-{i}", f"172.18.0.{i + 2}", str(ipaddress.ip_network(f"10.244.{i}.0/24")))
        for i in indexes
    ]
    for node in nodes:
        peers = [p for p in nodes if p is not node]
        script = network.node_script(node, peers)
        routes = [line for line in script.splitlines() if line.startswith("ip route replace")]
        assert sorted(routes) == sorted(f"ip route replace {p.pod_cidr} via {p.address}" for p in peers)
        assert f"{node.pod_cidr} via" not in script
        assert node.pod_cidr in script  # its own CIDR goes into its CNI configuration


def runc_wrapper() -> ModuleType:
    path = ROOT / "scripts" / "lib" / "runc-bounded"
    loader = importlib.machinery.SourceFileLoader("runc_bounded", str(path))
    spec = importlib.util.spec_from_loader("runc_bounded", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_runtime_wrapper_drops_only_capabilities_outside_the_bounding_set() -> None:
    wrapper = runc_wrapper()
    process = {"capabilities": {"bounding": ["CAP_SYS_ADMIN", "CAP_SYS_RESOURCE"], "effective": ["CAP_SYS_RESOURCE"]}}
    assert wrapper.drop_capabilities(process, {"CAP_SYS_RESOURCE"})
    assert process["capabilities"] == {"bounding": ["CAP_SYS_ADMIN"], "effective": []}
    assert not wrapper.drop_capabilities(process, {"CAP_SYS_RESOURCE"})


def test_runtime_wrapper_finds_the_spec_of_create_and_of_exec() -> None:
    wrapper = runc_wrapper()
    assert wrapper.spec_file(["--root", "/r", "create", "--bundle", "/b", "id"]) == ("/b/config.json", True)
    assert wrapper.spec_file(["create", "--bundle=/b", "id"]) == ("/b/config.json", True)
    assert wrapper.spec_file(["exec", "--process", "/tmp/p.json", "--detach", "id"]) == ("/tmp/p.json", False)
    assert wrapper.spec_file(["delete", "id"]) is None


def kind_state(tmp_path: Path, nodes: int) -> KindState:
    record = KindState("c1", tmp_path, "v1.36.3", "spin-harness/kind-node:v1.36.3-abc", nodes, 40001, 40002)
    record.save()
    return record


def test_upgrade_plan_is_the_control_plane_then_each_worker_drained_upgraded_uncordoned(tmp_path: Path) -> None:
    plan = [str(a) for a in upgrade_plan(kind_state(tmp_path, 3))]
    assert plan == [
        "control-plane",
        "drain c1-worker",
        "node c1-worker",
        "uncordon c1-worker",
        "drain c1-worker2",
        "node c1-worker2",
        "uncordon c1-worker2",
        "finish",
    ]
    assert [str(a) for a in upgrade_plan(kind_state(tmp_path, 1))] == ["control-plane", "finish"]


def test_only_a_node_the_upgrade_drained_is_uncordoned(tmp_path: Path) -> None:
    record = kind_state(tmp_path, 2)
    assert not drain.uncordon(record, Path("/no/kubectl"), "c1-worker", timeout=1)  # never runs kubectl
    assert KindState.load(tmp_path).drained == []


def test_an_unknown_upgrade_action_names_the_plans_actions(tmp_path: Path) -> None:
    record = kind_state(tmp_path, 2)
    cluster = Cluster("c1", "kind", KubeVersion(1, 36, 3), record.kubeconfig, tmp_path, 2)
    with pytest.raises(InputError, match="no upgrade action 'replace'") as error:
        get_provider("kind").upgrade_action(cluster, KubeVersion(1, 37, 2), UpgradeAction("replace", "c1-worker"))
    assert error.value.hint == "control-plane, drain, finish, node, uncordon"


def test_kubectl_keeps_its_discovery_cache_beside_the_clusters_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "cluster" / "kubeconfig"
    args = tools.kubectl_args(Path("/bin/kubectl"), kubeconfig, "uncordon", "n1")
    assert args == [
        "/bin/kubectl",
        f"--kubeconfig={kubeconfig}",
        f"--cache-dir={tmp_path / 'cluster' / 'kubectl-cache'}",
        "uncordon",
        "n1",
    ]


@pytest.mark.parametrize("made_with_patches", [True, False])
def test_upgrade_apply_gets_the_patches_of_clusters_made_with_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made_with_patches: bool
) -> None:
    """A cluster made before there were patches has no patches folder for kubeadm to read."""
    record = kind_state(tmp_path, 1)
    if made_with_patches:
        (tmp_path / "kubeadm-patches").mkdir()
    commands: list[list[str]] = []
    monkeypatch.setattr(kubeadm_upgrade, "exec_in", lambda node, argv, **_: commands.append(argv))
    monkeypatch.setattr(kubeadm_upgrade, "restart_kubelet", lambda *args: None)
    monkeypatch.setattr(kubeadm_upgrade, "wait_api_stable", lambda *args: None)
    upgrade = kubeadm_upgrade.KubeadmUpgrade(None, Steps(no_progress), KindTimeouts())
    monkeypatch.setattr(upgrade, "node_image", lambda version: SimpleNamespace(reference="node:v1.37.2"))
    monkeypatch.setattr(upgrade, "_load", lambda nodes, image: None)
    upgrade.control_plane(record, KubeVersion(1, 37, 2))
    [apply_command] = [argv for argv in commands if argv[:3] == ["kubeadm", "upgrade", "apply"]]
    assert (apply_command[-2:] == ["--patches", KUBEADM_PATCHES]) is made_with_patches


def test_waiting_for_a_nodes_containerd_ends_at_once_when_the_create_has_failed() -> None:
    creation_failed = threading.Event()
    creation_failed.set()
    with pytest.raises(Abandoned, match="c1-control-plane: the cluster's creation failed"):
        kind_nodes.wait_containerd("c1-control-plane", timeout=600, abandoned=creation_failed)


@pytest.mark.parametrize("create_failed", [True, False])
def test_an_image_load_that_fails_with_the_create_is_not_a_second_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, create_failed: bool
) -> None:
    """Ctrl-C reaches the loader's docker commands with kind's: that error is the create's."""

    def interrupted_save(_progress: object) -> str:
        raise OSError("docker image save: signal: interrupt")

    monkeypatch.setattr(kind_webhook, "webhook_image", interrupted_save)
    monkeypatch.setattr(kind_provider, "ABANDON_GRACE_SECONDS", 0.05)
    creation_failed = threading.Event()
    if create_failed:
        creation_failed.set()
    provider = kind_provider.KindProvider(ingress=False)
    expected = Abandoned if create_failed else OSError
    with pytest.raises(expected):
        provider._load_platform_images(kind_state(tmp_path, 2), creation_failed)


def test_a_create_from_a_given_node_image_loads_the_tenant_image_with_the_early_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The create itself, with kind, Docker and the cluster's waits replaced: what the loader gets."""
    from harness.images import kind_node
    from harness.providers.kind import cni

    monkeypatch.setenv("SPIN_HARNESS_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("SPIN_HARNESS_KIND_NODE_IMAGE", "example.test/kind-node:{version}")
    monkeypatch.setattr(kind_node, "ensure_given_image", lambda reference, _progress: reference)
    monkeypatch.setattr(kind_node, "ensure_tenant_image", lambda _progress: "spin-harness.local/tenant:1")
    monkeypatch.setattr(kind_webhook, "webhook_image", lambda _progress: "spin-harness/webhook:1")
    monkeypatch.setattr(tools, "kind_cli", lambda _toolchain, _progress: Path("kind"))

    def run_kind(_kind: Path, args: list[str], *, timeout: float, log: Path) -> None:
        Path(args[args.index("--kubeconfig") + 1]).write_text("apiVersion: v1\n")

    monkeypatch.setattr(tools, "run_kind", run_kind)
    monkeypatch.setattr(kind_nodes, "container_ids", lambda name: {})
    monkeypatch.setattr(kind_nodes, "wait_ready", lambda st, version, timeouts: None)
    monkeypatch.setattr(cni, "brings_own_cni", lambda st: True)
    loaded: list[dict[str, set[str]]] = []

    def load_into_nodes(wanted: dict[str, list[str]], wait_for_node: object) -> None:
        loaded.append({node: set(images) for node, images in wanted.items()})

    monkeypatch.setattr(kind_load, "load_into_nodes", load_into_nodes)
    provider = kind_provider.KindProvider(ingress=False)
    monkeypatch.setattr(provider, "available", lambda: None)
    cluster = provider.create("given", KubeVersion(1, 36, 3), nodes=2)
    assert KindState.load(cluster.state_dir).image == "example.test/kind-node:v1.36.3"
    both = {"spin-harness.local/tenant:1", "spin-harness/webhook:1"}
    assert loaded == [{"given-control-plane": both, "given-worker": both}]
    assert "tenant image into nodes" not in dict(provider.last_timings.steps)
