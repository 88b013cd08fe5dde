"""Progress for people at a terminal, plain lines for logs, silence for CI's quiet mode.

Long steps (toolchain builds, cluster creation, each upgrade hop) call a ``ProgressFn`` with
one line per step; this module decides how those lines are shown.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from harness.toolchain.sources import ProgressFn, no_progress

stderr_console = Console(stderr=True, highlight=False)


def quiet_by_default() -> bool:
    return os.environ.get("SPIN_HARNESS_QUIET", "") not in ("", "0")


@contextmanager
def progress_display(title: str, *, quiet: bool = False) -> Iterator[ProgressFn]:
    """A spinner with the current step on a terminal; timestamped lines otherwise."""
    if quiet:
        yield no_progress
        return
    started = time.monotonic()
    if stderr_console.is_terminal:
        with stderr_console.status(title) as status:

            def show(message: str) -> None:
                elapsed = time.monotonic() - started
                status.update(f"{title}: {message} [dim]({elapsed:.0f}s)[/dim]")
                stderr_console.log(message, _stack_offset=2)

            yield show
        return

    def line(message: str) -> None:
        elapsed = time.monotonic() - started
        print(f"[{elapsed:6.1f}s] {title}: {message}", file=sys.stderr, flush=True)

    yield line
