"""Work that runs beside a create's steps, and is waited for when the create fails.

A create that fails removes what it made. Work still running in a thread at that moment (a
``go build``, ``docker image save``, a copy into a node being deleted) would outlive the
failure: its child processes would race the removal, and its own error would be lost. So a
failed body waits for the work before the failure goes on, and names the work's error in it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor

from harness.toolchain.sources import ProgressFn


class Abandoned(Exception):
    """Raised by work that stopped because the body it ran beside failed: not an error of its own."""


def _same_error(seen: BaseException, error: BaseException) -> bool:
    """Whether ``seen`` is ``error`` or what it was raised from (the body awaited the work)."""
    chained: BaseException | None = error
    while chained is not None:
        if chained is seen:
            return True
        chained = chained.__cause__ or chained.__context__
    return False


@contextlib.contextmanager
def beside(
    work: Callable[[], None],
    *,
    title: str,
    progress: ProgressFn,
    abandoned: threading.Event | None = None,
) -> Iterator[Future[None]]:
    """Run ``work`` in a thread while the body runs; yield its future for the body to await.

    If the body fails (Ctrl-C included), ``work`` is cancelled if it has not started, else
    waited for; an error of its own is reported through ``progress`` and added as a note to
    the body's error, which then propagates. A second Ctrl-C while waiting stops the wait.
    ``abandoned``, when given, is set as soon as the body fails, before the wait: work that
    waits for something the body makes (a node container kind is still creating) stops
    waiting and raises ``Abandoned``, which is not reported.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=title.replace(" ", "-"))
    future = pool.submit(work)
    try:
        yield future
    except BaseException as error:
        if abandoned is not None:
            abandoned.set()
        if not future.cancel():
            if not future.done():
                progress(f"waiting for {title} to stop before cleaning up")
            with contextlib.suppress(CancelledError):
                also = future.exception()
                if also is not None and not isinstance(also, Abandoned) and not _same_error(also, error):
                    progress(f"{title} failed too: {also}")
                    error.add_note(f"{title} failed too: {type(also).__name__}: {also}")
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
