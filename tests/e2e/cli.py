"""Running the spin-harness command line from e2e tests, as a user would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def spin(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """``spin-harness ARGS`` with progress off; never raises on a non-zero exit."""
    env = dict(os.environ, SPIN_HARNESS_QUIET="1")
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
