"""Progress: durations, time-left estimates, plain-line pacing and heartbeats (injected clock), the
terminal rows, and which display a command gets (quiet, log lines, live; always on stderr)."""

from __future__ import annotations

import io
import itertools
import os
import random
from pathlib import Path

import pytest
from rich.console import Console

from harness.progress import (
    PLAIN_INTERVAL,
    LineMeter,
    MeterState,
    NullMeter,
    PlainLines,
    TerminalDisplay,
    format_duration,
    meter,
    no_progress,
    phase,
    progress_display,
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


def test_a_log_gets_a_heartbeat_when_a_step_says_nothing() -> None:
    clock = FakeClock()
    lines: list[str] = []
    shown = PlainLines("gate", lines.append, clock=clock)
    shown("etcd...")
    for _ in range(7):  # 3.5 s: not yet
        clock.now += 0.5
        shown.tick()
    assert lines == ["[   0.0s] gate: etcd..."]
    clock.now += 0.5
    shown.tick()
    assert lines[-1] == "[   4.0s] gate: etcd ... still running, 4s"
    clock.now += 1
    shown("kube-apiserver...")  # a new step: its own elapsed time, the silence starts again
    clock.now += 3.5
    shown.tick()
    assert len(lines) == 3
    clock.now += 0.5
    shown.tick()
    assert lines[-1] == "[   9.0s] gate: kube-apiserver ... still running, 4s"


def test_log_lines_are_never_more_than_5_seconds_apart_however_steps_come() -> None:
    clock = FakeClock()
    times: list[float] = []
    shown = PlainLines("gate", lambda _line: times.append(clock.now), clock=clock)
    chance = random.Random(11)
    started = clock.now
    # Steps come in bursts, then nothing for up to a minute (a hop, a scratch cluster); the
    # heartbeat ticks every 0.5 s as the real thread does.
    while clock.now - started < 600:
        clock.now += 0.5
        if chance.random() < 0.05:
            for _ in range(chance.randint(1, 5)):
                shown(f"step {clock.now}")
        shown.tick()
    gaps = [b - a for a, b in itertools.pairwise([started, *times])]
    assert max(gaps) <= 5.0
    assert len(times) > 120


def test_a_meter_in_a_log_shows_its_count_in_the_heartbeat() -> None:
    clock = FakeClock()
    lines: list[str] = []
    shown = PlainLines("toolchain v1.36.3", lines.append, clock=clock)
    with meter(shown, "go build kwok v0.8.0", unit="packages", total=974, previous=300) as counted:
        counted.advance(100)  # counting writes nothing by itself
        assert lines == []
        clock.now += 4
        shown.tick()
        assert lines == ["[   4.0s] toolchain v1.36.3: go build kwok v0.8.0: 100/974 packages, 4s elapsed, ~4m56s left"]
    clock.now += 4
    shown.tick()  # the meter is closed: back to the plain heartbeat
    assert lines[-1] == "[   8.0s] toolchain v1.36.3: working, 8s"


def test_quiet_display_is_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    with progress_display("gate", quiet=True) as progress:
        assert progress is no_progress
        progress("step")
    assert capfd.readouterr() == ("", "")


def test_a_log_display_writes_lines_to_stderr_only(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "0")  # whatever the CI job sets
    with progress_display("gate") as progress:
        assert isinstance(progress, PlainLines)
        progress("cell local:v1.36.3>v1.37.2: cluster create@v1.36.3")
    out, err = capfd.readouterr()
    assert out == ""
    assert err.endswith("gate: cell local:v1.36.3>v1.37.2: cluster create@v1.36.3\n")


def test_a_terminal_gets_the_live_display_unless_lines_are_asked_for(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: treat the stream as a terminal
    with progress_display("gate") as progress:
        assert isinstance(progress, TerminalDisplay)
        progress("cluster create")
    with progress_display("run", live=False) as progress:
        assert isinstance(progress, PlainLines)
    out, err = capfd.readouterr()
    assert out == ""
    assert "cluster create" in err


def test_progress_still_reaches_stderr_while_descriptor_2_is_captured(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """What pytest does around each test of a gate's matrix: fd 2 goes to a file for a while."""
    captured = tmp_path / "captured"
    with progress_display("gate") as progress, captured.open("w") as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            progress("hop 1: playbook upgrade.yml to v1.37.2")
            os.write(2, b"a test's own output\n")
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    assert "hop 1: playbook upgrade.yml" in capfd.readouterr().err
    assert captured.read_text() == "a test's own output\n"
