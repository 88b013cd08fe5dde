"""Is the API ready: the ``/readyz`` check the hop's API probe and the health item share."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from harness.kube.client import api_client, get_raw


def readyz_check(kubeconfig: Path) -> Callable[[], None]:
    """A probe check: ``/readyz`` answers 200 within a second, on a fresh connection each time."""

    def check() -> None:
        with contextlib.closing(api_client(kubeconfig, retries=0)) as api:
            status, _body = get_raw(api, "/readyz", timeout=1.0)
        if status != 200:
            raise RuntimeError(f"/readyz {status}")

    return check


def ready_probe(kubeconfig: Path) -> Callable[[], tuple[bool, str]]:
    """``readyz_check`` in the shape ``wait_until`` polls."""
    check = readyz_check(kubeconfig)

    def probe() -> tuple[bool, str]:
        check()
        return True, "ready"

    return probe
