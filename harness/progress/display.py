"""Choosing a display: a live rich status on a terminal, plain lines in a log, nothing when quiet.

Progress is written to a copy of the standard error descriptor taken when the display opens.
That matters for the commands that run a matrix inside pytest (``gate``, ``run``): pytest
captures descriptor 2 around every test, and the copy still reaches the user's terminal (or
log) while it does. Standard output is never written to: commands print results there for
programs (``--json``, a kubeconfig path), and those must stay clean.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console

from harness.progress.core import Heartbeat, ProgressFn, no_progress
from harness.progress.lines import PlainLines
from harness.progress.terminal import TerminalDisplay


@contextmanager
def stderr_copy() -> Iterator[TextIO]:
    """A stream on a duplicate of descriptor 2, closed afterwards; ``sys.stderr`` itself when it
    has no descriptor (a test's replacement stream)."""
    try:
        fd = os.dup(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        yield sys.stderr
        return
    stream = os.fdopen(fd, "w", buffering=1, encoding="utf-8", errors="replace")
    try:
        yield stream
    finally:
        stream.close()


def _writer(stream: TextIO) -> ProgressFn:
    def write(line: str) -> None:
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError):  # the reader went away (a closed pipe): progress is optional
            pass

    return write


@contextmanager
def progress_display(title: str, *, quiet: bool = False, live: bool = True) -> Iterator[ProgressFn]:
    """A live display on a terminal; timestamped lines with a heartbeat otherwise; nothing when
    ``quiet``. ``live=False`` asks for lines even on a terminal (pytest's own output shares it)."""
    if quiet:
        yield no_progress
        return
    with stderr_copy() as stream:
        console = Console(file=stream, highlight=False, log_path=False)
        if live and console.is_terminal:
            display = TerminalDisplay(title, console=console)
            with display.live:
                yield display
            return
        lines = PlainLines(title, _writer(stream))
        with Heartbeat(lines.tick):
            yield lines
