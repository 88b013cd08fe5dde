"""A local cluster's state on disk: the record another process needs to find, upgrade or remove it.

Each cluster owns ``<state root>/clusters/<name>/`` holding ``cluster.json`` (versions, ports,
component processes, owner), its PKI, kubeconfigs, etcd data and component logs. The JSON is
rewritten atomically after every change, so a crash at any point leaves a record ``gc`` can act
on. Mutations of one cluster are serialised by a lock file beside its directory.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from harness.errors import ClusterError
from harness.paths import state_root
from harness.providers.common.owner import Owner as Owner
from harness.providers.common.owner import validate_name as validate_name
from harness.providers.local.process import ProcessRecord

STATE_FILE = "cluster.json"


def clusters_root() -> Path:
    return state_root() / "clusters"


@dataclass
class ClusterState:
    name: str
    directory: Path
    version: str
    etcd_version: str
    nodes: int
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, ProcessRecord] = field(default_factory=dict)
    #: None means kept: the cluster lives until ``cluster down``.
    owner: Owner | None = None
    phase: str = "creating"
    created_at: float = field(default_factory=time.time)
    history: list[str] = field(default_factory=list)

    @property
    def file(self) -> Path:
        return self.directory / STATE_FILE

    def save(self) -> None:
        raw: dict[str, Any] = {
            "name": self.name,
            "provider": "local",
            "version": self.version,
            "etcd_version": self.etcd_version,
            "nodes": self.nodes,
            "ports": self.ports,
            "processes": {k: v.to_json() for k, v in self.processes.items()},
            "owner": None if self.owner is None else self.owner.to_json(),
            "phase": self.phase,
            "created_at": self.created_at,
            "history": self.history,
        }
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(raw, indent=2))
        os.replace(tmp, self.file)

    @classmethod
    def load(cls, directory: Path) -> ClusterState:
        try:
            raw = json.loads((directory / STATE_FILE).read_text())
            return cls(
                name=raw["name"],
                directory=directory,
                version=raw["version"],
                etcd_version=raw.get("etcd_version", ""),
                nodes=int(raw.get("nodes", 1)),
                ports={k: int(v) for k, v in raw.get("ports", {}).items()},
                processes={k: ProcessRecord.from_json(v) for k, v in raw.get("processes", {}).items()},
                owner=Owner.from_json(raw.get("owner")),
                phase=raw.get("phase", "unknown"),
                created_at=float(raw.get("created_at", 0)),
                history=list(raw.get("history", [])),
            )
        except FileNotFoundError:
            raise ClusterError(f"no local cluster state in {directory}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ClusterError(
                f"{directory / STATE_FILE} is unreadable: {exc}",
                hint="remove it with 'spin-harness gc --all'",
            ) from None


def cluster_dir(name: str) -> Path:
    return clusters_root() / name


@contextmanager
def cluster_lock(name: str) -> Iterator[None]:
    """Serialise create/upgrade/delete of one cluster across processes."""
    root = clusters_root()
    root.mkdir(parents=True, exist_ok=True)
    lock_path = root / f".{name}.lock"
    with FileLock(str(lock_path)):
        yield


def remove_lock_file(name: str) -> None:
    (clusters_root() / f".{name}.lock").unlink(missing_ok=True)


def all_states() -> list[ClusterState | Path]:
    """Every cluster directory: its state, or the bare path when the state is unreadable."""
    root = clusters_root()
    if not root.is_dir():
        return []
    out: list[ClusterState | Path] = []
    for entry in sorted(root.iterdir()):
        if not entry.is_dir():
            continue
        try:
            out.append(ClusterState.load(entry))
        except ClusterError:
            out.append(entry)
    return out
