"""Running a provider's command-line tools (kind, k3d, kubectl) with errors that show their output."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from harness.errors import ClusterError


def run_tool(
    command: list[str],
    *,
    timeout: float,
    what: str | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    log: Path | None = None,
) -> str:
    """Run ``command``; its stdout, or ``ClusterError`` naming ``what`` with the output's last lines.

    ``what`` defaults to the tool and its first two arguments (``k3d cluster create``).
    ``env`` is added to this process's environment; ``log`` receives stdout and stderr.
    """
    title = what or " ".join([Path(command[0]).name, *command[1:3]])
    started = time.monotonic()
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(os.environ, **env) if env else None,
            input=stdin,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(f"{title} did not finish in {timeout:.0f}s") from exc
    if log is not None:
        log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        where = f", log {log}" if log is not None else ""
        raise ClusterError(
            f"{title} failed (exit {proc.returncode} after {time.monotonic() - started:.0f}s{where}):\n{tail}"
        )
    return proc.stdout
