"""What a new kind cluster is made from, and how one goes away: its ports, config files, containers."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from python_on_whales.exceptions import DockerException

from harness.images import engine
from harness.images.kind_node import NodeImage
from harness.providers.common import ports
from harness.providers.common.audit import AUDIT_POLICY
from harness.providers.common.owner import Owner
from harness.providers.kind import nodes as kind_nodes
from harness.providers.kind.config import KindClusterConfig, kubeadm_patches
from harness.providers.kind.state import KindState
from harness.providers.kind.tools import kind_cli, run_kind
from harness.toolchain import ToolchainConfig
from harness.toolchain.sources import ProgressFn
from harness.versions import KubeVersion


def reserve(name: str, directory: Path, image: NodeImage, nodes: int, api_port: int | None, keep: bool) -> KindState:
    """The cluster's record, with loopback ports no other cluster's state records."""
    with ports.reservation_lock():
        picked = ports.pick_free_ports(2, ports.recorded_ports())
        st = KindState(
            name=name,
            directory=directory,
            version=str(image.version),
            image=image.reference,
            nodes=nodes,
            api_port=api_port or picked[0],
            ingress_port=picked[1],
            owner=None if keep else Owner.current(),
        )
        st.save()
    return st


def write_config(st: KindState, version: KubeVersion) -> Path:
    """kind's cluster config, the audit policy and the host directories the nodes mount."""
    st.global_fs.mkdir(mode=0o755, exist_ok=True)
    st.global_fs.chmod(0o755)  # tenant pods run as their own uid below it
    audit_dir = st.directory / "audit"
    audit_dir.mkdir(mode=0o700, exist_ok=True)
    policy = st.directory / "audit-policy.yaml"
    policy.write_text(AUDIT_POLICY)
    st.kubeadm_patches.mkdir(mode=0o755, exist_ok=True)
    for file_name, patch in kubeadm_patches().items():
        (st.kubeadm_patches / file_name).write_text(patch)
    config = KindClusterConfig(
        name=st.name,
        image=st.image,
        version=version,
        nodes=st.nodes,
        api_port=st.api_port,
        ingress_port=st.ingress_port,
        global_fs_host=st.global_fs,
        audit_policy_host=policy,
        audit_dir_host=audit_dir,
        patches_host=st.kubeadm_patches,
        cgroup_v1=kind_nodes.engine_cgroup_version() == "1",
    )
    path = st.directory / "kind-config.yaml"
    path.write_text(config.render())
    return path


def remove_cluster(name: str, directory: Path, toolchain: ToolchainConfig | None, progress: ProgressFn) -> None:
    """Remove the cluster's containers (kind delete, then any left by label) and its directory."""
    docker = engine.docker_client()
    with contextlib.suppress(Exception):
        kind = kind_cli(toolchain, progress)
        # kind edits a kubeconfig on delete: the cluster's own, never the user's ~/.kube/config.
        delete = ["delete", "cluster", "--name", name, "--kubeconfig", str(directory / "kubeconfig")]
        run_kind(kind, delete, timeout=120, log=Path(os.devnull))
    with contextlib.suppress(DockerException):
        leftovers = docker.container.list(all=True, filters=[("label", f"{kind_nodes.CLUSTER_LABEL}={name}")])
        if leftovers:
            docker.container.remove(leftovers, force=True, volumes=True)
    shutil.rmtree(directory, ignore_errors=True)
