"""A kind cluster's record on disk: what the harness needs to find, upgrade, or remove it.

kind keeps its own truth in the Docker engine (containers labelled with the cluster name);
this record adds what kind does not know: the node image per version, the loopback ports,
the host directory behind the global filesystem, and the owner process, so ``gc`` can remove
a cluster whose test run was killed. Written atomically after every change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ClusterError
from harness.paths import state_root
from harness.providers.common.owner import Owner
from harness.providers.common.state_file import STATE_FILE, all_states_in, read_state, save_state


def kind_root() -> Path:
    return state_root() / "kind"


def cluster_dir(name: str) -> Path:
    return kind_root() / name


@dataclass
class KindState:
    name: str
    directory: Path
    version: str
    image: str
    nodes: int
    api_port: int
    ingress_port: int
    owner: Owner | None = None
    phase: str = "creating"
    created_at: float = field(default_factory=time.time)
    history: list[str] = field(default_factory=list)
    #: Node container ids at creation; an in-place upgrade keeps them.
    container_ids: dict[str, str] = field(default_factory=dict)
    #: Nodes an upgrade drained and has not uncordoned yet.
    drained: list[str] = field(default_factory=list)

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    @property
    def global_fs(self) -> Path:
        """The host directory every node mounts as the centre's global filesystem."""
        return self.directory / "global-fs"

    @property
    def kubeadm_patches(self) -> Path:
        """The host directory of kubeadm's static pod patches (mounted into the control plane)."""
        return self.directory / "kubeadm-patches"

    def save(self) -> None:
        save_state(self, "kind")

    @classmethod
    def load(cls, directory: Path) -> KindState:
        try:
            raw = read_state(directory)
            return cls(
                name=raw["name"],
                directory=directory,
                version=raw["version"],
                image=raw["image"],
                nodes=int(raw["nodes"]),
                api_port=int(raw["api_port"]),
                ingress_port=int(raw["ingress_port"]),
                owner=Owner.from_json(raw.get("owner")),
                phase=raw.get("phase", "unknown"),
                created_at=float(raw.get("created_at", 0)),
                history=list(raw.get("history", [])),
                container_ids=dict(raw.get("container_ids", {})),
                drained=list(raw.get("drained", [])),
            )
        except FileNotFoundError:
            raise ClusterError(f"no kind cluster state in {directory}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ClusterError(
                f"{directory / STATE_FILE} is unreadable: {exc}", hint="remove it with 'spin-harness gc --all'"
            ) from None


def node_names(st: KindState) -> list[str]:
    """Node container names, control plane first (kind names them after the cluster)."""
    names = [f"{st.name}-control-plane"]
    names += [f"{st.name}-worker{'' if i == 1 else i}" for i in range(1, st.nodes)]
    return names


def all_states() -> list[KindState | Path]:
    return all_states_in(kind_root(), KindState.load)
