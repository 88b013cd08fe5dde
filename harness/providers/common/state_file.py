"""The ``cluster.json`` record of a container-based provider's cluster: written, read back, listed.

A state is a dataclass with a ``directory`` (where the record lives, not written into it) and
an ``owner``; every other field is written as JSON, with the provider's name, atomically.
Every provider's records (the local provider's too) sit at ``<state root>/<folder>/<cluster>/
cluster.json`` with ``provider`` and ``owner``, so which providers hold a cluster of a gone
owner can be read without loading any provider (``providers_with_gone_owners``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from harness.errors import ClusterError
from harness.providers.common.owner import Owner

STATE_FILE = "cluster.json"

S = TypeVar("S")


def save_state(state: Any, provider: str) -> None:
    """Write ``state`` (a dataclass with ``directory`` and ``owner``) to its ``cluster.json``."""
    raw: dict[str, Any] = {k: v for k, v in asdict(state).items() if k not in ("directory", "owner")}
    raw["provider"] = provider
    raw["owner"] = None if state.owner is None else state.owner.to_json()
    path = state.directory / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(raw, indent=2))
    os.replace(tmp, path)


def read_state(directory: Path) -> Any:
    """The parsed ``cluster.json`` of ``directory``; OSError or ValueError when it cannot be read."""
    return json.loads((directory / STATE_FILE).read_text())


def all_states_in(root: Path, load: Callable[[Path], S]) -> list[S | Path]:
    """Every cluster directory under ``root``: its state, or the bare path when the state is unreadable."""
    if not root.is_dir():
        return []
    out: list[S | Path] = []
    for entry in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            out.append(load(entry))
        except ClusterError:
            out.append(entry)
    return out


def providers_with_gone_owners(state_root: Path) -> set[str]:
    """Names of the providers with a cluster record under ``state_root`` whose owner process is gone.

    Unreadable records are skipped: they may be half-written by a process creating a cluster.
    """
    found: set[str] = set()
    for path in state_root.glob(f"*/*/{STATE_FILE}"):
        try:
            raw = json.loads(path.read_text())
            owner = Owner.from_json(raw.get("owner"))
            provider = str(raw["provider"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        if owner is not None and not owner.alive():
            found.add(provider)
    return found
