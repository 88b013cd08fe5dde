"""Free TCP ports on 127.0.0.1, reserved so parallel clusters never pick the same one.

The kernel's "port 0" picks a free port, but two workers can be handed the same one between
closing the probe socket and the component binding it. Reservations are therefore made under
one machine-wide lock, against every port that any cluster state already records, whatever
its provider: a state file (``<state root>/<provider dir>/<name>/cluster.json``) records its
ports as a ``ports`` table or as ``*_port`` fields.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from filelock import FileLock

from harness.errors import InputError
from harness.paths import state_root

LOOPBACK = "127.0.0.1"


@contextmanager
def reservation_lock() -> Iterator[None]:
    root = state_root()
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / ".ports.lock")):
        yield


def recorded_ports() -> set[int]:
    """Every port a cluster state file of any provider records. Call under ``reservation_lock``."""
    taken: set[int] = set()
    root = state_root()
    for path in root.glob("*/*/cluster.json") if root.is_dir() else []:
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            raw = json.loads(path.read_text())
            values = [*dict(raw.get("ports") or {}).values(), *(v for k, v in raw.items() if k.endswith("_port"))]
            taken.update(int(v) for v in values if isinstance(v, int))
    return taken


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def pick_free_ports(count: int, taken: Iterable[int]) -> list[int]:
    """``count`` distinct free loopback ports, none in ``taken``. Call under ``reservation_lock``."""
    avoid = set(taken)
    chosen: list[int] = []
    while len(chosen) < count:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((LOOPBACK, 0))
            port = int(probe.getsockname()[1])
        if port not in avoid and port not in chosen:
            chosen.append(port)
    return chosen


def require_free(port: int, what: str) -> None:
    """Refuse a user-chosen port that something already listens on."""
    if not 1 <= port <= 65535:
        raise InputError(f"{what}: {port} is not a TCP port", hint="choose 1-65535")
    if not port_is_free(port):
        raise InputError(
            f"{what}: port {port} on {LOOPBACK} is already in use",
            hint="choose another port, or omit it to pick a free one",
        )
