"""The in-place upgrade of a kind cluster, as kubeadm clusters are upgraded in production.

The new version's images and binaries are loaded into the running node containers,
``kubeadm upgrade apply`` moves the control plane, and each worker's kubelet is replaced and
restarted, drained first when its pods have somewhere else to go. Node containers (and their
ids) stay the same throughout. The plan (``plan.py``) names each action, so the Python path and the
playbook run the same ones in the same order.
"""

from __future__ import annotations

from harness.errors import InputError, VersionError
from harness.images import engine
from harness.images.kind_load import load_into_nodes
from harness.images.kind_node import NodeImage, build_node_image
from harness.providers.common.steps import Steps
from harness.providers.kind.config import KUBEADM_PATCHES
from harness.providers.kind.nodes import exec_in, restart_kubelet, wait_api_stable, wait_ready
from harness.providers.kind.state import KindState, node_names
from harness.providers.kind.tools import KindTimeouts
from harness.toolchain import ToolchainConfig
from harness.toolchain.components import Component
from harness.toolchain.ensure import ensure
from harness.versions import KubeVersion, upgrade_refusal


class KubeadmUpgrade:
    """Runs the kubeadm actions of an upgrade on one cluster's node containers."""

    def __init__(self, toolchain: ToolchainConfig | None, steps: Steps, timeouts: KindTimeouts) -> None:
        self.toolchain = toolchain
        self.steps = steps
        self.timeouts = timeouts

    def node_image(self, version: KubeVersion) -> NodeImage:
        return build_node_image(version, config=self.toolchain, progress=self.steps.progress)

    def control_plane(self, st: KindState, to_version: KubeVersion, *, force: bool = False) -> None:
        """Load ``to_version`` into every node, then ``kubeadm upgrade apply`` and the control plane's kubelet."""
        current = KubeVersion.parse(st.version)
        if current == to_version:
            return
        refusal = upgrade_refusal(current, to_version)
        if refusal and not force:
            raise VersionError(f"upgrade refused: {refusal}", hint="pass --force to override the skew policy")
        self.steps.restart()
        image = self.steps("node image", lambda: self.node_image(to_version))
        st.phase = f"upgrading to {to_version}"
        st.save()
        nodes = node_names(st)
        self.steps(f"load {to_version} into {len(nodes)} node(s)", lambda: self._load(nodes, image))
        control_plane = nodes[0]
        apply_command = [
            "kubeadm",
            "upgrade",
            "apply",
            str(to_version),
            "--yes",
            "--ignore-preflight-errors=all",
            "--v=1",
        ]
        if st.kubeadm_patches.is_dir():  # a cluster made before there were patches has none
            apply_command += ["--patches", KUBEADM_PATCHES]  # the static pods keep what they were made with
        self.steps(
            f"kubeadm upgrade apply {to_version}",
            lambda: exec_in(control_plane, apply_command, log=st.directory / f"kubeadm-upgrade-apply-{to_version}.log"),
        )
        self.steps(f"kubelet {control_plane}", lambda: restart_kubelet(st, control_plane, to_version, self.timeouts))
        # The new kubelet may recreate the static pods it now hashes differently: the API is
        # back only once it has answered for a while, not at its first answer.
        self.steps("API stable", lambda: wait_api_stable(st, self.timeouts.system_pods))
        st.image = image.reference
        st.save()

    def node(self, st: KindState, node: str, to_version: KubeVersion) -> None:
        """``kubeadm upgrade node`` on a worker, then its new kubelet (images were loaded before)."""
        if node not in node_names(st)[1:]:
            raise InputError(f"{node!r} is not a worker of {st.name}", hint=", ".join(node_names(st)))
        self.steps(
            f"kubeadm upgrade node {node}",
            lambda: exec_in(
                node,
                ["kubeadm", "upgrade", "node", "--ignore-preflight-errors=all"],
                log=st.directory / f"kubeadm-upgrade-node-{node}-{to_version}.log",
            ),
        )
        self.steps(f"kubelet {node}", lambda: restart_kubelet(st, node, to_version, self.timeouts))

    def finish(self, st: KindState, to_version: KubeVersion) -> None:
        """Wait until every node and system pod is ready at ``to_version``, then record it."""
        self.steps("ready", lambda: wait_ready(st, to_version, self.timeouts))
        st.version = str(to_version)
        st.phase = "ready"
        if not st.history or st.history[-1] != str(to_version):
            st.history.append(str(to_version))
        st.save()

    def _load(self, nodes: list[str], image: NodeImage) -> None:
        """Copy the version's images (a worker gets no static pod's) and kubeadm/kubelet/kubectl into every node."""
        docker = engine.docker_client()
        tools = ensure(
            image.version,
            [Component.KUBEADM, Component.KUBELET, Component.KUBECTL],
            config=self.toolchain,
            progress=self.steps.progress,
        )
        control_plane, *workers = nodes  # node_names lists the control plane first
        load_into_nodes(
            {
                control_plane: image.images_for(control_plane=True),
                **dict.fromkeys(workers, image.images_for(control_plane=False)),
            }
        )
        for node in nodes:
            for component, path in tools.paths.items():
                docker.container.copy(path, (node, f"/usr/bin/{component.value}.new"))
            # kubeadm and kubectl are replaced now; the kubelet only when its node's turn comes.
            exec_in(
                node,
                [
                    "bash",
                    "-c",
                    "chmod 0755 /usr/bin/*.new && mv /usr/bin/kubeadm.new /usr/bin/kubeadm && "
                    f"mv /usr/bin/kubectl.new /usr/bin/kubectl && echo -n {image.version} > /kind/version",
                ],
            )
