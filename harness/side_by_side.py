"""Running a few independent, mostly waiting actions at once, as if one after another.

The hop restarts components that do not depend on each other, and the cell reads the cluster
with detectors that only read: each action spends its time waiting on a process or the API, so
threads overlap them. The caller sees the results in order, and the first error in that order,
once every action has ended (nothing is left running behind an error).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def side_by_side(actions: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``actions`` on threads of their own; their results in order, or the first one's error.

    Each runs in a copy of the caller's context (the API warning log's recording is a context
    variable), so what it records goes where the caller's would.
    """
    if len(actions) <= 1:
        return [action() for action in actions]
    with ThreadPoolExecutor(max_workers=len(actions), thread_name_prefix="side-by-side") as pool:
        futures = [pool.submit(contextvars.copy_context().run, action) for action in actions]
        return [future.result() for future in futures]
