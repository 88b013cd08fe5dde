"""Running the spin-harness command line from e2e tests, as a user would, in a subprocess.

The command runs in a session of its own, so that a test that gives up on it (its timeout, a
Ctrl-C, pytest-timeout) stops all of it: its workers and the tools they run (a ``kind create``)
get SIGTERM, which the command line unwinds like Ctrl-C (removing what it made), then SIGKILL
if they are still there after a bounded wait. A plain ``subprocess.run`` would kill only the
command line itself, leaving the rest running and what it made in place.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Seconds the command gets after SIGTERM to remove what it made (a kind cluster's containers,
#: a local cluster's processes) before its whole session is killed.
STOP_GRACE = 180.0


def spin(*args: str, timeout: float = 900, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``spin-harness ARGS`` with progress off and ``env`` added; never raises on a non-zero exit."""
    environ = dict(os.environ, SPIN_HARNESS_QUIET="1", **(env or {}))
    return run_in_session([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, env=environ, timeout=timeout)


def run_in_session(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], timeout: float, grace: float = STOP_GRACE
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in a new session, capturing its output; never raises on a non-zero exit.

    On ``timeout`` (``subprocess.TimeoutExpired``) or any interruption, the session is stopped
    (``stop_session``) before the error propagates.
    """
    with subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except BaseException:
            stop_session(proc, grace)
            raise
        # Anything the command left running in its session outlives the test otherwise.
        _signal_group(proc.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def stop_session(proc: subprocess.Popen[str], grace: float) -> None:
    """SIGTERM every process of ``proc``'s session, wait up to ``grace`` seconds for ``proc``, SIGKILL the rest."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        # Read the pipes while waiting: a command blocked writing its output cannot clean up.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=grace)
    finally:
        _signal_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=grace)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
