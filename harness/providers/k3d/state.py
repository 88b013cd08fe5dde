"""A k3d cluster's record on disk: what the harness needs to find, upgrade or remove it.

k3d keeps its own truth in the Docker engine (containers labelled ``k3d.cluster``); this
record adds the version, the loopback API port, whether a load balancer fronts the servers,
and the owner process, so ``gc`` can remove a cluster whose test run was killed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ClusterError
from harness.paths import state_root
from harness.providers.common.owner import Owner

STATE_FILE = "cluster.json"


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
        raw: dict[str, Any] = {k: v for k, v in asdict(self).items() if k not in ("directory", "owner")}
        raw["provider"] = "k3d"
        raw["owner"] = None if self.owner is None else self.owner.to_json()
        path = self.directory / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(raw, indent=2))
        os.replace(tmp, path)

    @classmethod
    def load(cls, directory: Path) -> K3dState:
        try:
            raw = json.loads((directory / STATE_FILE).read_text())
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
    root = k3d_root()
    if not root.is_dir():
        return []
    out: list[K3dState | Path] = []
    for entry in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            out.append(K3dState.load(entry))
        except ClusterError:
            out.append(entry)
    return out
