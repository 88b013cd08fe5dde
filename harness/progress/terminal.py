"""The live display of a terminal: a rich status row naming the current step, one row per meter.

The status row's spinner and elapsed time (since the last step began) are redrawn ten times a
second by rich's own thread, so a long step with nothing new to say is visibly alive; each step
is also printed once, with its time, above the rows, so the scrollback keeps the history.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from harness.progress.console import stderr_console
from harness.progress.core import Meter, remaining_estimate


class _MeterBar(ProgressColumn):
    """A bar for meters; none on the title row (it only names the current step)."""

    def __init__(self) -> None:
        super().__init__()
        self.bar = BarColumn(bar_width=24)

    def render(self, task: Task) -> RenderableType:
        if task.fields.get("title"):
            return Text("")
        return self.bar.render(task)


class _CountColumn(ProgressColumn):
    """``812/1934 packages`` once a total is known, the count alone before."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "")
        if not unit:
            return Text("")
        if task.total:
            return Text(f"{int(task.completed)}/{int(task.total)} {unit}")
        return Text(f"{int(task.completed)} {unit}" if task.completed else "")


class _RemainingColumn(ProgressColumn):
    """Time left estimated from the previous run of the same step."""

    def render(self, task: Task) -> Text:
        return Text(remaining_estimate(task.fields.get("previous"), task.elapsed or 0.0), style="dim")


class TerminalDisplay:
    """The ``ProgressFn`` of a terminal: a live rich display with one row per running meter.

    Called with a line, it prints the line (with time) above the rows and shows it beside the
    title, whose elapsed time restarts; ``meter`` adds a row with a bar, the count, elapsed
    time and time left. Standard output is left alone (``redirect_stdout=False``): what a
    command prints there for programs must not be drawn into the display on stderr.
    """

    def __init__(self, title: str, console: Console = stderr_console) -> None:
        self.title = title
        self.live = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            _MeterBar(),
            _CountColumn(),
            TimeElapsedColumn(),
            _RemainingColumn(),
            console=console,
            transient=True,
            redirect_stdout=False,
        )
        self._title_task = self.live.add_task(title, total=None, unit="", title=True)

    def __call__(self, message: str) -> None:
        self.live.reset(self._title_task, description=f"{self.title}: {message}")
        self.live.console.log(message)

    @contextmanager
    def meter(self, label: str, unit: str, total: int | None, previous: float | None) -> Iterator[Meter]:
        self.live.update(self._title_task, description=f"{self.title}: {label}")
        task = self.live.add_task(label, total=total, unit=unit, previous=previous)
        try:
            yield _RichMeter(self.live, task)
        finally:
            self.live.remove_task(task)


class _RichMeter:
    def __init__(self, live: Progress, task: TaskID) -> None:
        self.live = live
        self.task = task

    def advance(self, count: int = 1) -> None:
        self.live.advance(self.task, count)

    def set_total(self, total: int | None) -> None:
        self.live.update(self.task, total=total)
