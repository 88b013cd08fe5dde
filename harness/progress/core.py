"""The pieces of progress every display shares: durations, meters, the heartbeat, quiet mode.

Long steps (toolchain builds, image builds, cluster creation, each upgrade hop, a gate's cells)
call a ``ProgressFn`` with one line per step; a step that can take minutes opens a *meter*
(``meter(progress, label, total=...)``). How lines and meters are shown is the display's
business (``harness.progress.display``): a live rich status on a terminal, plain lines in a
log, nothing under ``--quiet``. A display that shows meters itself (``MeterDisplay``) gets the
meter; any other ``ProgressFn`` (a caller's wrapper, a list in a test) gets plain lines paced by
a ``LineMeter`` and its heartbeat, so a hung step and a working one look different.

The pure parts (durations, the remaining-time estimate, the plain-line meter with its injected
clock) are separate from the threads and the terminal, so they are tested without waiting.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

#: Receives one human-readable line per step of a long operation.
ProgressFn = Callable[[str], None]
#: Seconds on a monotonic clock; injected in tests.
Clock = Callable[[], float]

#: A plain-line meter writes at most once per this many seconds...
PLAIN_INTERVAL = 4.0
#: ...and its heartbeat looks this often, so lines are never more than 4.5 s apart.
HEARTBEAT_SECONDS = 0.5


def no_progress(_message: str) -> None:
    """A progress sink for callers that show nothing."""


def quiet_by_default() -> bool:
    return os.environ.get("SPIN_HARNESS_QUIET", "") not in ("", "0")


def notice(message: str) -> None:
    """A one-off line to stderr (a choice made for the user, e.g. which patch a minor became)."""
    if not quiet_by_default():
        print(f"spin-harness: {message}", file=sys.stderr, flush=True)


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``: short enough for a progress line."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def remaining_estimate(previous: float | None, elapsed: float) -> str:
    """A rough time left, from how long the same step took last time; empty when never measured."""
    if previous is None or previous <= 0:
        return ""
    left = previous - elapsed
    if left >= 1:
        return f"~{format_duration(left)} left"
    return f"longer than last time ({format_duration(previous)})"


@dataclass
class MeterState:
    """What a meter knows: counted work, its total when known, and when it started."""

    label: str
    unit: str
    started: float
    done: int = 0
    total: int | None = None
    previous: float | None = None

    def describe(self, now: float) -> str:
        elapsed = now - self.started
        parts = []
        if self.total:
            parts.append(f"{min(self.done, self.total)}/{self.total} {self.unit}")
        elif self.done:
            parts.append(f"{self.done} {self.unit}")
        parts.append(f"{format_duration(elapsed)} elapsed")
        estimate = remaining_estimate(self.previous, elapsed)
        if estimate:
            parts.append(estimate)
        return f"{self.label}: {', '.join(parts)}"


class Meter(Protocol):
    """Counts the work of one long step."""

    def advance(self, count: int = 1) -> None:
        """``count`` more units are done."""
        ...

    def set_total(self, total: int | None) -> None:
        """How many units the step has (learnt after it started)."""
        ...


@runtime_checkable
class MeterDisplay(Protocol):
    """A ``ProgressFn`` that shows meters itself (a terminal's rows, a log's heartbeat)."""

    def __call__(self, message: str) -> None: ...

    def meter(
        self, label: str, unit: str, total: int | None, previous: float | None
    ) -> AbstractContextManager[Meter]: ...


class NullMeter:
    """The meter of quiet mode."""

    def advance(self, count: int = 1) -> None:
        pass

    def set_total(self, total: int | None) -> None:
        pass


class LineMeter:
    """Plain lines through a ``ProgressFn``: one at most every ``interval`` seconds.

    ``tick`` is called by every update and by the heartbeat; it writes when ``interval`` has
    passed since the last line (or the start), so the line rate does not depend on how fast
    the work reports.
    """

    def __init__(
        self,
        emit: ProgressFn,
        state: MeterState,
        *,
        clock: Clock = time.monotonic,
        interval: float = PLAIN_INTERVAL,
    ) -> None:
        self.emit = emit
        self.state = state
        self.clock = clock
        self.interval = interval
        self._last = state.started
        self._lock = threading.Lock()

    def advance(self, count: int = 1) -> None:
        with self._lock:
            self.state.done += count
        self.tick()

    def set_total(self, total: int | None) -> None:
        with self._lock:
            self.state.total = total
        self.tick()

    def tick(self) -> None:
        with self._lock:
            now = self.clock()
            if now - self._last < self.interval:
                return
            self._last = now
            line = self.state.describe(now)
        self.emit(line)


class Heartbeat:
    """Calls ``tick`` every ``period`` seconds on a daemon thread until stopped."""

    def __init__(self, tick: Callable[[], None], period: float = HEARTBEAT_SECONDS) -> None:
        self._tick = tick
        self._period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress-heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            self._tick()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def meter(
    progress: ProgressFn,
    label: str,
    *,
    unit: str = "",
    total: int | None = None,
    previous: float | None = None,
) -> Iterator[Meter]:
    """A meter for one long step, shown the way ``progress`` shows things.

    A display that shows meters (a terminal's live rows, a log's heartbeat lines) gets the
    meter; quiet mode nothing; any other ``ProgressFn`` (a caller's wrapper) gets plain lines,
    at least every 5 seconds while the step runs.
    """
    if progress is no_progress:
        yield NullMeter()
        return
    if isinstance(progress, MeterDisplay):
        with progress.meter(label, unit, total, previous) as shown:
            yield shown
        return
    lines = LineMeter(progress, MeterState(label, unit, time.monotonic(), total=total, previous=previous))
    with Heartbeat(lines.tick):
        yield lines


@contextmanager
def phase(progress: ProgressFn, label: str) -> Iterator[None]:
    """One named step without a count: announced, then kept alive with elapsed time until done."""
    progress(label)
    with meter(progress, label):
        yield
