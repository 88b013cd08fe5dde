"""Named, timed steps: bring-up and upgrade report each one and record how long it took."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from harness.toolchain.sources import ProgressFn

T = TypeVar("T")


@dataclass
class StepTimings:
    """Seconds per named step of the last create or upgrade, in order."""

    steps: list[tuple[str, float]] = field(default_factory=list)

    def total(self) -> float:
        return sum(seconds for _, seconds in self.steps)


def timed_step(title: str, action: Callable[[], T], *, progress: ProgressFn, timings: StepTimings) -> T:
    """Report ``title``, run ``action``, record its duration in ``timings``; return its result."""
    progress(f"{title}...")
    started = time.monotonic()
    result = action()
    timings.steps.append((title, time.monotonic() - started))
    return result


class Steps:
    """A provider's step runner: reports each step through ``progress`` and keeps its timings."""

    def __init__(self, progress: ProgressFn) -> None:
        self.progress = progress
        self.timings = StepTimings()

    def restart(self) -> None:
        """Start the timings of a new create or upgrade."""
        self.timings = StepTimings()

    def __call__(self, title: str, action: Callable[[], T]) -> T:
        return timed_step(title, action, progress=self.progress, timings=self.timings)
