"""A k3d cluster's record on disk: what the harness needs to find, upgrade or remove it.

k3d keeps its own truth in the Docker engine (containers labelled ``k3d.cluster``); this
record adds the version, the loopback API port, whether a load balancer fronts the servers,
and the owner process, so ``gc`` can remove a cluster whose test run was killed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ClusterError
from harness.paths import state_root
from harness.providers.common.owner import Owner
from harness.providers.common.state_file import all_states_in, read_state, save_state


def k3d_root() -> Path:
    return state_root() / "k3d"


def cluster_dir(name: str) -> Path:
    return k3d_root() / name


@dataclass
class K3dState:
    name: str
    directory: Path
    version: str
    nodes: int
    api_port: int
    owner: Owner | None = None
    phase: str = "creating"
    history: list[str] = field(default_factory=list)
    #: The servers publish the API themselves (``--no-lb``) instead of through k3d's proxy.
    no_lb: bool = False

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    def save(self) -> None:
        save_state(self, "k3d")

    @classmethod
    def load(cls, directory: Path) -> K3dState:
        try:
            raw = read_state(directory)
            return cls(
                raw["name"],
                directory,
                raw["version"],
                int(raw["nodes"]),
                int(raw["api_port"]),
                Owner.from_json(raw.get("owner")),
                raw.get("phase", "unknown"),
                list(raw.get("history", [])),
                bool(raw.get("no_lb", False)),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ClusterError(f"no readable k3d cluster state in {directory}: {exc}") from None


def all_states() -> list[K3dState | Path]:
    """Every k3d cluster directory: its state, or the bare path when the state is unreadable."""
    return all_states_in(k3d_root(), K3dState.load)
