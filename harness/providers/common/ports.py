"""Free TCP ports on 127.0.0.1, reserved so parallel clusters never pick the same one.

The kernel's "port 0" picks a free port, but two workers can be handed the same one between
closing the probe socket and the component binding it, and a cluster's port is free for a
moment whenever an upgrade restarts the component that listens on it. Reservations are
therefore made under one lock for the user's whole machine, against:

- every port a cluster state file records, in every state root used on this machine (parallel
  runs and test workers keep separate state roots; each is remembered when it first reserves):
  a state file (``<state root>/<provider dir>/<name>/cluster.json``) records its ports as a
  ``ports`` table or as ``*_port`` fields, whatever its provider;
- every port handed out in the last ten minutes, which its cluster's state file may not record
  yet.

The lock and both records live in ``SPIN_HARNESS_PORTS_DIR``, by default the user's cache
folder (``~/.cache/spin-harness/ports``), and deliberately not under ``SPIN_HARNESS_CACHE``: a
run with a toolchain cache of its own still shares the machine's ports.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock

from harness.errors import InputError
from harness.paths import state_root, user_cache_root

LOOPBACK = "127.0.0.1"

#: How long a picked port stays off limits to other pickers on this machine: long enough for a
#: cluster's components to bind it and for its state file to record it.
RECENT_PICK_SECONDS = 600.0


def machine_dir() -> Path:
    """Where the machine-wide lock and records are (see the module's docstring)."""
    given = os.environ.get("SPIN_HARNESS_PORTS_DIR")
    directory = Path(given).expanduser() if given else user_cache_root() / "ports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@contextmanager
def reservation_lock() -> Iterator[None]:
    with FileLock(str(machine_dir() / "reservations.lock")):
        yield


def _read_json(path: Path) -> Any:
    with contextlib.suppress(OSError, ValueError):
        return json.loads(path.read_text())
    return None


def _write_json(path: Path, value: Any) -> None:
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(value, indent=1))
    scratch.replace(path)


def _recent_picks(now: float) -> dict[int, float]:
    """Ports picked on this machine whose hold has not run out, with when it does."""
    raw = _read_json(machine_dir() / "recent.json")
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        return {int(port): float(until) for port, until in raw.items() if float(until) > now}
    return {}


def _remember_picks(picked: Iterable[int]) -> None:
    now = time.time()
    recent = _recent_picks(now)
    recent.update((port, now + RECENT_PICK_SECONDS) for port in picked)
    _write_json(machine_dir() / "recent.json", {str(port): until for port, until in sorted(recent.items())})


def state_roots() -> list[Path]:
    """Every state root that has reserved ports on this machine and still exists, this one included.

    Call under ``reservation_lock``: it records this process's state root.
    """
    record = machine_dir() / "state-roots.json"
    raw = _read_json(record)
    known = [str(entry) for entry in raw] if isinstance(raw, list) else []
    current = str(state_root())
    roots = [entry for entry in dict.fromkeys([current, *known]) if entry == current or Path(entry).is_dir()]
    if roots != known:
        _write_json(record, roots)
    return [Path(entry) for entry in roots]


def recorded_ports() -> set[int]:
    """Every port a cluster state file records, in any state root of this machine.

    Call under ``reservation_lock``.
    """
    taken: set[int] = set()
    for root in state_roots():
        for path in root.glob("*/*/cluster.json") if root.is_dir() else []:
            raw = _read_json(path)
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                ports = dict(raw.get("ports") or {}).values()
                values = [*ports, *(v for k, v in raw.items() if k.endswith("_port"))]
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
