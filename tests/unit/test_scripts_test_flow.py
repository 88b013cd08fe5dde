"""Control flow of scripts/test, run with stubs of every command it calls (no real build starts).

The script overlaps background preparation (Docker engine, Debian roots, tool builds) with the
Kubernetes builds; these tests pin that a failed background job or build fails the run, that too
few minors is a clear error, and that Ctrl-C, or a TERM sent to the script alone in the middle of a
build, stops it and leaves no process of the build or the background jobs behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SPIN_HARNESS_STUB = """#!/usr/bin/env bash
# Stub of spin-harness: each mode is chosen by the test through STUB_* variables.
marks="$STUB_ROOT/marks"
case "$*" in
  "toolchain versions --newest 3") printf '%s\\n' $STUB_VERSIONS ;;
  "toolchain ensure-tool "*)
    touch "$marks/ensure-tool-$3"
    case "$STUB_TOOLS" in
      fail) echo "stub: cannot build $3" >&2; exit 1 ;;
      hang) "$STUB_ROOT/bin/slow-child" 60 ;;
    esac ;;
  "toolchain ensure "*)
    touch "$marks/ensure-$3"
    case "$STUB_ENSURE" in
      fail) echo "stub: cannot build $3" >&2; exit 1 ;;
      hang) "$STUB_ROOT/bin/slow-child" 60 ;;
    esac ;;
  "images roots") [ "$STUB_ENGINE" != hang ] || "$STUB_ROOT/bin/slow-child" 60 ;;
esac
exit 0
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def stubbed(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A copy of scripts/test in a tree whose setup, engine and commands are stubs."""
    root = tmp_path / "scripts-test-stub-root"
    shutil.copy(REPO / "scripts" / "test", _ensure_dir(root / "scripts") / "test")
    _write(root / "scripts" / "setup", "#!/usr/bin/env bash\nexit 0\n")
    _write(root / "scripts" / "lib" / "venv.sh", "# stub: no virtual environment\n")
    _write(root / "scripts" / "docker-engine", "#!/usr/bin/env bash\nexit 0\n")
    bin_dir = _ensure_dir(root / "bin")
    for name in ("ruff", "mypy", "python3"):
        _write(bin_dir / name, "#!/usr/bin/env bash\nexit 0\n")
    _write(bin_dir / "spin-harness", SPIN_HARNESS_STUB)
    sleep = shutil.which("sleep")
    assert sleep
    (bin_dir / "slow-child").symlink_to(sleep)  # its command line names root: pgrep finds it
    _ensure_dir(root / "marks")
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "STUB_ROOT": str(root),
        "STUB_VERSIONS": "v1.35.4 v1.36.3 v1.37.2",
        "STUB_TOOLS": "ok",
        "STUB_ENSURE": "ok",
        "STUB_ENGINE": "ok",
    }
    yield root, env
    subprocess.run(["pkill", "-KILL", "-f", str(root)], check=False)


def _ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _run(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(root / "scripts" / "test")], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _processes_of(root: Path) -> str:
    return subprocess.run(["pgrep", "-af", str(root)], capture_output=True, text=True, check=False).stdout


def test_success_builds_every_minor(stubbed: tuple[Path, dict[str, str]]) -> None:
    root, env = stubbed
    result = _run(root, env)
    assert result.returncode == 0, result.stderr
    marks = {p.name for p in (root / "marks").iterdir()}
    assert {"ensure-v1.35.4", "ensure-v1.36.3", "ensure-v1.37.2", "ensure-tool-helm", "ensure-tool-kind"} <= marks


def test_failed_background_job_fails_the_run(stubbed: tuple[Path, dict[str, str]]) -> None:
    root, env = stubbed
    result = _run(root, {**env, "STUB_TOOLS": "fail"})
    assert result.returncode == 1
    assert "stub: cannot build helm" in result.stderr


def test_too_few_minors_is_a_clear_error(stubbed: tuple[Path, dict[str, str]]) -> None:
    root, env = stubbed
    result = _run(root, {**env, "STUB_VERSIONS": "v1.36.3 v1.37.2"})
    assert result.returncode == 1
    assert "fewer than three minors" in result.stderr
    assert not any(p.name.startswith("ensure-v") for p in (root / "marks").iterdir())


def test_failed_build_fails_the_run(stubbed: tuple[Path, dict[str, str]]) -> None:
    root, env = stubbed
    result = _run(root, {**env, "STUB_ENSURE": "fail"})
    assert result.returncode == 1
    assert "stub: cannot build v1.35.4" in result.stderr
    assert not (root / "marks" / "ensure-v1.36.3").exists(), "the run went on after a failed build"
    assert not _processes_of(root)


def _stopped_mid_build(root: Path, env: dict[str, str], stop: Callable[[int], None]) -> int:
    """Run the script until the build of the oldest minor and both background jobs hang, ``stop``
    it (given its pid), and return its exit status once no process of the stubs is left. The
    stubs hang for 60 s, longer than the script is given to end: it must stop them, not outwait them."""
    env = {**env, "STUB_TOOLS": "hang", "STUB_ENSURE": "hang", "STUB_ENGINE": "hang"}
    # A session of its own stands for the terminal's foreground group, which Ctrl-C signals.
    proc = subprocess.Popen(
        ["bash", str(root / "scripts" / "test")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        marks = root / "marks"
        deadline = time.monotonic() + 30
        while not ((marks / "ensure-tool-helm").exists() and (marks / "ensure-v1.35.4").exists()):
            assert time.monotonic() < deadline, "the stubs never started"
            time.sleep(0.05)
        while _processes_of(root).count("slow-child") < 3:  # both background jobs and the foreground build
            assert time.monotonic() < deadline, _processes_of(root)
            time.sleep(0.05)
        stop(proc.pid)
        status = proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    left = _processes_of(root)
    deadline = time.monotonic() + 10
    while left and time.monotonic() < deadline:  # a killed process may still be leaving
        time.sleep(0.05)
        left = _processes_of(root)
    assert not left
    return status


def test_ctrl_c_leaves_no_background_process(stubbed: tuple[Path, dict[str, str]]) -> None:
    root, env = stubbed
    assert _stopped_mid_build(root, env, lambda pid: os.killpg(pid, signal.SIGINT)) == 130


def test_term_to_the_script_alone_stops_the_build_it_waits_for(stubbed: tuple[Path, dict[str, str]]) -> None:
    """A CI runner or a supervisor signals the script's pid only, not its process group."""
    root, env = stubbed
    assert _stopped_mid_build(root, env, lambda pid: os.kill(pid, signal.SIGTERM)) == 143
    assert not (root / "marks" / "ensure-v1.36.3").exists(), "the run went on after TERM"
