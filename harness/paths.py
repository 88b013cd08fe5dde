"""Where the harness keeps things outside the repository.

Two roots, both overridable by environment so tests and parallel CI jobs can isolate them:
``SPIN_HARNESS_CACHE`` holds the toolchain (shared, expensive to rebuild) and
``SPIN_HARNESS_STATE`` holds cluster directories (per run, cheap, garbage-collected).
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """Toolchain cache root: built or downloaded binaries per version."""
    env = os.environ.get("SPIN_HARNESS_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "spin-harness"


def state_root() -> Path:
    """Cluster state root: one directory per cluster, readable by other processes."""
    env = os.environ.get("SPIN_HARNESS_STATE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "spin-harness"
