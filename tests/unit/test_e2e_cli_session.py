"""The e2e tests' command runner stops the whole session of a command it gives up on.

SIGTERM first, so the command's own cleanup runs; SIGKILL for whatever is still there after the
grace period; nothing of the session survives, not even a grandchild in the same group.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.e2e.cli import run_in_session, stop_session

#: A command that starts a grandchild (which records its pid), then, unless told to ignore
#: SIGTERM, cleans up on it (writes ``cleaned``) and exits; it ends by itself after ``linger``.
COMMAND = """
import pathlib, signal, subprocess, sys, time
here = pathlib.Path(sys.argv[1])
ignore_term, linger = sys.argv[2] == "ignore", float(sys.argv[3])
def cleanup(*_):
    (here / "cleaned").write_text("yes")
    sys.exit(0)
signal.signal(signal.SIGTERM, signal.SIG_IGN if ignore_term else cleanup)
grandchild = "import os, pathlib, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); " \\
    "pathlib.Path(sys.argv[1]).write_text(str(os.getpid())); time.sleep(600)"
subprocess.Popen([sys.executable, "-c", grandchild, str(here / "grandchild")],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while not (here / "grandchild").exists():
    time.sleep(0.05)
(here / "ready").write_text("yes")
print("started", flush=True)
time.sleep(linger)
"""


def command(here: Path, *, ignore_term: bool = False, linger: float = 600) -> list[str]:
    return [sys.executable, "-c", COMMAND, str(here), "ignore" if ignore_term else "clean", str(linger)]


def wait_for(path: Path) -> None:
    for _ in range(1200):
        if path.exists():
            return
        time.sleep(0.05)
    raise AssertionError(f"{path.name} never appeared")


def gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie not yet reaped by init counts), waiting a while for it."""
    for _ in range(600):
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def start(here: Path, **kwargs: bool) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        command(here, **kwargs),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    wait_for(here / "ready")
    return proc


def test_stopping_a_session_lets_the_command_clean_up_then_kills_what_is_left(tmp_path: Path) -> None:
    proc = start(tmp_path)
    stop_session(proc, grace=60)
    assert (tmp_path / "cleaned").exists(), "the command got no SIGTERM to clean up on"
    assert proc.returncode == 0
    assert gone(int((tmp_path / "grandchild").read_text())), "a grandchild ignoring SIGTERM survived"


def test_a_command_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    proc = start(tmp_path, ignore_term=True)
    stop_session(proc, grace=0.5)
    assert proc.returncode == -9
    assert not (tmp_path / "cleaned").exists()
    assert gone(int((tmp_path / "grandchild").read_text()))


def test_a_timed_out_command_is_stopped_with_its_session(tmp_path: Path) -> None:
    # Generous timeout for a loaded machine: the command must have started its grandchild by then.
    with pytest.raises(subprocess.TimeoutExpired):
        run_in_session(command(tmp_path), cwd=tmp_path, env={}, timeout=8, grace=60)
    wait_for(tmp_path / "ready")
    assert (tmp_path / "cleaned").exists()
    assert gone(int((tmp_path / "grandchild").read_text()))


def test_a_finished_command_leaves_nothing_of_its_session_running(tmp_path: Path) -> None:
    result = run_in_session(command(tmp_path, linger=0), cwd=tmp_path, env={}, timeout=120)
    assert result.returncode == 0 and result.stdout == "started\n"
    assert gone(int((tmp_path / "grandchild").read_text()))
