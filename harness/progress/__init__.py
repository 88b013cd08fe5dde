"""Progress for people at a terminal, plain lines for logs, silence for CI's quiet mode.

``core`` has what every display shares (meters, durations, the heartbeat, quiet mode),
``console`` the rich console on stderr, ``terminal`` the live rich display, ``lines`` the
plain-line display of logs, and ``display`` picks one for a command. Callers import from here;
what needs rich is imported on first use.
"""

from typing import TYPE_CHECKING

from harness.lazy import on_first_use
from harness.progress.core import (
    HEARTBEAT_SECONDS,
    PLAIN_INTERVAL,
    Clock,
    Heartbeat,
    LineMeter,
    Meter,
    MeterDisplay,
    MeterState,
    NullMeter,
    ProgressFn,
    format_duration,
    meter,
    no_progress,
    notice,
    phase,
    quiet_by_default,
    remaining_estimate,
)

if TYPE_CHECKING:
    from harness.progress.console import stderr_console
    from harness.progress.display import progress_display, stderr_copy
    from harness.progress.lines import PlainLines
    from harness.progress.terminal import TerminalDisplay

#: What needs rich, by the module that has it: imported on first use, so that a command that
#: shows no progress (``--quiet``, a playbook's listing) does not pay for rich.
__getattr__ = on_first_use(
    __name__,
    {
        "stderr_console": "console",
        "progress_display": "display",
        "stderr_copy": "display",
        "PlainLines": "lines",
        "TerminalDisplay": "terminal",
    },
)


__all__ = [
    "HEARTBEAT_SECONDS",
    "PLAIN_INTERVAL",
    "Clock",
    "Heartbeat",
    "LineMeter",
    "Meter",
    "MeterDisplay",
    "MeterState",
    "NullMeter",
    "PlainLines",
    "ProgressFn",
    "TerminalDisplay",
    "format_duration",
    "meter",
    "no_progress",
    "notice",
    "phase",
    "progress_display",
    "quiet_by_default",
    "remaining_estimate",
    "stderr_console",
    "stderr_copy",
]
