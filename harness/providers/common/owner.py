"""Who a cluster lives for, and what a cluster may be called: the same rules for every provider."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import psutil

from harness.errors import InputError

_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?")


def validate_name(name: str) -> None:
    """Cluster names become directory names and node-name prefixes: DNS-label rules."""
    if not _NAME.fullmatch(name):
        raise InputError(
            f"cluster name {name!r} is not valid",
            hint="use 1-40 lowercase letters, digits and '-', starting and ending with a letter or digit",
        )


@dataclass
class Owner:
    """The process a cluster lives for; when it is gone, ``gc`` may remove the cluster."""

    pid: int
    create_time: float

    @classmethod
    def current(cls) -> Owner:
        return cls(os.getpid(), psutil.Process().create_time())

    def to_json(self) -> dict[str, float]:
        return {"pid": self.pid, "create_time": self.create_time}

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> Owner | None:
        """The owner a state file records; None for a kept cluster."""
        return cls(int(raw["pid"]), float(raw["create_time"])) if raw else None

    def alive(self) -> bool:
        try:
            proc = psutil.Process(self.pid)
            return abs(proc.create_time() - self.create_time) < 0.05 and proc.status() != psutil.STATUS_ZOMBIE
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False


def describe_owner(owner: Owner | None) -> str:
    """How ``cluster list`` shows an owner: ``kept`` or ``pid N``."""
    return "kept" if owner is None else f"pid {owner.pid}"


def owner_garbage_reason(owner: Owner | None, *, everything: bool) -> str | None:
    """The reasons every provider shares for collecting a readable cluster (None: not for these)."""
    if everything:
        return "--all was given"
    if owner is not None and not owner.alive():
        return f"its owner process {owner.pid} is gone"
    return None
