"""The display of a log (CI, ``2>file``, a pipe): timestamped plain lines with a heartbeat.

Every step is one line. A step that says nothing new for ``PLAIN_INTERVAL`` seconds gets a
heartbeat line (``... still running, 1m05s``), or, inside a meter, the meter's count, elapsed
time and time left: a log never goes more than 5 seconds without a line while work runs,
so whoever reads it can tell a hung step from a working one. ``tick`` is what the heartbeat
thread calls; it takes the clock as data, so the pacing is tested without waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from harness.progress.core import PLAIN_INTERVAL, Clock, Meter, MeterState, format_duration


class _CountedMeter:
    """A meter whose count a ``PlainLines`` display shows in its heartbeat lines."""

    def __init__(self, state: MeterState, lock: threading.Lock) -> None:
        self.state = state
        self._lock = lock

    def advance(self, count: int = 1) -> None:
        with self._lock:
            self.state.done += count

    def set_total(self, total: int | None) -> None:
        with self._lock:
            self.state.total = total


class PlainLines:
    """A ``ProgressFn`` writing ``[  12.3s] title: message`` lines through ``write``.

    ``tick`` writes a heartbeat when no line was written for ``interval`` seconds: the innermost
    running meter's state when there is one, else the last step with how long it has run.
    """

    def __init__(
        self,
        title: str,
        write: Callable[[str], None],
        *,
        clock: Clock = time.monotonic,
        interval: float = PLAIN_INTERVAL,
    ) -> None:
        self.title = title
        self.write = write
        self.clock = clock
        self.interval = interval
        self.started = clock()
        self._last_line = self.started
        self._step: str | None = None
        self._step_started = self.started
        self._meters: list[MeterState] = []
        self._lock = threading.Lock()

    def _line(self, now: float, text: str) -> str:
        return f"[{now - self.started:6.1f}s] {self.title}: {text}"

    def __call__(self, message: str) -> None:
        with self._lock:
            now = self.clock()
            self._step, self._step_started, self._last_line = message, now, now
            line = self._line(now, message)
        self.write(line)

    def heartbeat_text(self, now: float) -> str:
        """What the heartbeat says at ``now`` (the caller holds the lock)."""
        if self._meters:
            return self._meters[-1].describe(now)
        running = format_duration(now - self._step_started)
        if self._step is None:
            return f"working, {running}"
        return f"{self._step.removesuffix('...')} ... still running, {running}"

    def tick(self) -> None:
        with self._lock:
            now = self.clock()
            if now - self._last_line < self.interval:
                return
            self._last_line = now
            line = self._line(now, self.heartbeat_text(now))
        self.write(line)

    @contextmanager
    def meter(self, label: str, unit: str, total: int | None, previous: float | None) -> Iterator[Meter]:
        state = MeterState(label, unit, self.clock(), total=total, previous=previous)
        with self._lock:
            self._meters.append(state)
        try:
            yield _CountedMeter(state, self._lock)
        finally:
            with self._lock:
                self._meters.remove(state)
