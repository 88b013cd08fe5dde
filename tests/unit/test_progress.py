"""Progress: durations, time-left estimates, plain-line pacing (injected clock) and the terminal rows."""

from __future__ import annotations

import io
import itertools
import random

import pytest
from rich.console import Console

from harness.progress import (
    PLAIN_INTERVAL,
    LineMeter,
    MeterState,
    NullMeter,
    TerminalDisplay,
    format_duration,
    meter,
    no_progress,
    phase,
    remaining_estimate,
)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (42.4, "42s"), (60, "1m00s"), (185, "3m05s"), (3720, "1h02m"), (-3, "0s")]
)
def test_durations_read_short(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_remaining_time_comes_from_the_previous_duration() -> None:
    assert remaining_estimate(None, 10) == ""
    assert remaining_estimate(0, 10) == ""
    assert remaining_estimate(300, 60) == "~4m00s left"
    assert remaining_estimate(300, 299.5) == "longer than last time (5m00s)"
    assert remaining_estimate(300, 400) == "longer than last time (5m00s)"


def test_meter_line_names_count_total_elapsed_and_estimate() -> None:
    state = MeterState("go build kwok v0.8.0", "packages", started=100.0, done=812, total=974, previous=600)
    assert state.describe(165) == "go build kwok v0.8.0: 812/974 packages, 1m05s elapsed, ~8m55s left"
    state.total = None
    assert state.describe(165) == "go build kwok v0.8.0: 812 packages, 1m05s elapsed, ~8m55s left"
    assert MeterState("debootstrap", "", started=0).describe(12) == "debootstrap: 12s elapsed"


def test_plain_lines_come_at_most_every_interval_and_at_least_every_5_seconds() -> None:
    clock = FakeClock()
    lines: list[tuple[float, str]] = []
    state = MeterState("step", "packages", clock.now)
    shown = LineMeter(lambda text: lines.append((clock.now, text)), state, clock=clock)
    chance = random.Random(7)
    started = clock.now
    # Work reports in bursts and pauses (a long link step says nothing for 40 s); the
    # heartbeat ticks every 0.5 s as the real one does.
    while clock.now - started < 300:
        clock.now += 0.5
        if not 100 < clock.now - started < 140:
            for _ in range(chance.randint(0, 30)):
                shown.advance()
        shown.tick()
    times = [started, *(t for t, _ in lines)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(lines) > 50
    assert min(gaps) >= PLAIN_INTERVAL
    assert max(gaps) <= 5.0
    assert lines[-1][1].startswith("step: ")


def test_no_line_before_the_interval_has_passed() -> None:
    clock = FakeClock()
    lines: list[str] = []
    shown = LineMeter(lines.append, MeterState("step", "packages", clock.now, total=10), clock=clock)
    for _ in range(5):
        clock.now += 0.5
        shown.advance()
    assert lines == []  # 2.5 s in
    clock.now += PLAIN_INTERVAL - 2.5
    shown.tick()
    assert lines == ["step: 5/10 packages, 4s elapsed"]


def test_quiet_mode_meters_show_nothing() -> None:
    with meter(no_progress, "step", total=3) as shown:
        assert isinstance(shown, NullMeter)
        shown.advance()
    with phase(no_progress, "phase"):
        pass


def test_plain_meter_passes_lines_to_any_progress_function() -> None:
    lines: list[str] = []
    with phase(lines.append, "docker export"):
        pass
    assert lines[0] == "docker export"


def test_terminal_rows_show_count_elapsed_and_time_left() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160, color_system=None)
    display = TerminalDisplay("toolchain v1.36.3", console=console)
    display("resolving k8s.io/kubernetes v1.36.3")
    with display.meter("go build kube-apiserver v1.36.3", "packages", 1934, 600.0) as shown:
        shown.advance(812)
        console.print(display.live.make_tasks_table(display.live.tasks))
    text = out.getvalue()
    assert "toolchain v1.36.3: go build kube-apiserver v1.36.3" in text
    assert "812/1934 packages" in text
    assert "left" in text
    assert len(display.live.tasks) == 1  # the meter's row is gone once the step ends
