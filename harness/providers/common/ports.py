"""Free TCP ports on 127.0.0.1, reserved so parallel clusters never pick the same one.

The kernel's "port 0" picks a free port, but two workers can be handed the same one between
closing the probe socket and the component binding it. Reservations are therefore made under
one lock for the whole machine (in the cache root, which every state root shares), against
every port that a cluster state of this state root records, whatever its provider (a state
file, ``<state root>/<provider dir>/<name>/cluster.json``, records its ports as a ``ports``
table or as ``*_port`` fields), and against every port handed out on this machine in the last
few minutes, whatever its state root: parallel runs and test workers keep separate state roots,
and a port picked by one may not be bound yet when another picks.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

from harness.errors import InputError
from harness.paths import cache_root, state_root

LOOPBACK = "127.0.0.1"

#: How long a picked port stays off limits to other pickers on this machine: long enough for a
#: cluster's components to bind it and for its state file to record it.
RECENT_PICK_SECONDS = 600.0


def _machine_dir() -> Path:
    directory = cache_root() / "ports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@contextmanager
def reservation_lock() -> Iterator[None]:
    with FileLock(str(_machine_dir() / "reservations.lock")):
        yield


def _recent_picks(now: float) -> dict[int, float]:
    """Ports picked on this machine whose hold has not run out, with when it does."""
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        raw = json.loads((_machine_dir() / "recent.json").read_text())
        return {int(port): float(until) for port, until in raw.items() if float(until) > now}
    return {}


def _remember_picks(picked: Iterable[int]) -> None:
    now = time.time()
    recent = _recent_picks(now)
    recent.update((port, now + RECENT_PICK_SECONDS) for port in picked)
    target = _machine_dir() / "recent.json"
    scratch = target.with_suffix(".tmp")
    scratch.write_text(json.dumps({str(port): until for port, until in sorted(recent.items())}))
    scratch.replace(target)


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
    """``count`` distinct free loopback ports, none in ``taken`` nor picked on this machine lately.

    Call under ``reservation_lock``.
    """
    avoid = set(taken) | set(_recent_picks(time.time()))
    chosen: list[int] = []
    while len(chosen) < count:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((LOOPBACK, 0))
            port = int(probe.getsockname()[1])
        if port not in avoid and port not in chosen:
            chosen.append(port)
    _remember_picks(chosen)
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
