"""Servers the harness runs beside the cluster for the scenarios that name them.

Some of a platform's contract is not in the cluster at all: its admission webhook is a server
the apiserver calls. A scenario lists what it needs under ``services:``; the harness runs it on
the host's loopback for as long as the scenario lives, so it stays up while a hop restarts
the apiserver (which is what a real platform's webhook, running elsewhere, does too).

Lifetime: in a matrix cell every scenario of the cell shares one ``ServiceSet``, started on
first use and stopped when the cell ends; a ``ScenarioRunner`` used on its own starts a set
and stops it on ``close``. Check functions reach a running service through
``ctx.services[name]``. Keys and certificates go to a private directory under the state root,
named for the owning process, so ``gc`` removes it if that process is killed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from harness.errors import InputError
from harness.service_dirs import services_root
from harness.webhooks.server import WebhookServer

ADMISSION_WEBHOOK = "admission-webhook"
SERVICE_NAMES = (ADMISSION_WEBHOOK,)
#: A slow webhook answers after this many seconds: longer than the registrations' timeout.
SLOW_WEBHOOK_SECONDS = 8.0


class ServiceSet:
    """The services some scenarios need, started once for a cluster and stopped together."""

    def __init__(self, host: str | Callable[[], str] = "127.0.0.1") -> None:
        """``host``: the address services listen on (and registrations name), or a function giving
        it once a service first starts (a kind network exists only once a cluster does)."""
        self._running: dict[str, Any] = {}
        self._directory: Path | None = None
        self._host = host
        # A cell's teardowns run on threads of their own (harness.run.teardowns), and two
        # scenarios may ask for the same service at once: only one may start it.
        self._lock = threading.Lock()

    def _private_dir(self) -> Path:
        if self._directory is None:
            root = services_root()
            root.mkdir(parents=True, exist_ok=True)
            self._directory = root / f"{os.getpid()}-{secrets.token_hex(4)}"
            self._directory.mkdir(mode=0o700)
        return self._directory

    def ensure(self, names: Iterable[str], kubeconfig: Path) -> None:
        """Start every service in ``names`` that is not running yet, for the cluster of ``kubeconfig``."""
        with self._lock:
            for name in names:
                if name in self._running:
                    continue
                if name != ADMISSION_WEBHOOK:
                    raise InputError(f"unknown service {name!r}", hint=f"services: {', '.join(SERVICE_NAMES)}")
                host = self._host() if callable(self._host) else self._host
                server = WebhookServer(
                    self._private_dir() / name, kubeconfig=kubeconfig, slow_seconds=SLOW_WEBHOOK_SECONDS, host=host
                )
                self._running[name] = server  # tracked before it starts, so stop() reaches it whatever happens
                server.start()

    def get(self, name: str) -> Any:
        return self._running[name]

    def as_mapping(self) -> dict[str, Any]:
        return dict(self._running)

    def stop(self) -> None:
        """Stop every service and remove their keys; safe to call twice, and after a failed start."""
        try:
            for service in list(self._running.values()):
                with contextlib.suppress(Exception):
                    service.stop()
        finally:
            self._running.clear()
            if self._directory is not None:
                shutil.rmtree(self._directory, ignore_errors=True)
                self._directory = None
