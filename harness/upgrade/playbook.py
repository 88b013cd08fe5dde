"""Upgrade hops run as an ansible playbook, through ansible-runner.

Ops teams already drive upgrades with ansible; running the hop through the same kind of
playbook (``playbooks/upgrade.yml``) means the harness exercises the procedure, not just the
binaries. Each task's outcome becomes a ``PlaybookEvent`` that reports show as steps.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ClusterError, HarnessError
from harness.paths import playbooks_dir
from harness.progress import ProgressFn, no_progress


@dataclass(frozen=True)
class PlaybookEvent:
    """One task's result on one host."""

    task: str
    status: str  # ok, changed, skipped, failed
    seconds: float
    message: str = ""


@dataclass
class PlaybookRun:
    playbook: str
    status: str = "unknown"
    rc: int = -1
    seconds: float = 0.0
    events: list[PlaybookEvent] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(e.status == "changed" for e in self.events)


_STATUS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "failed",
}


def run_playbook(
    name: str, extravars: dict[str, Any], *, timeout: float = 1800, progress: ProgressFn = no_progress
) -> PlaybookRun:
    """Run ``playbooks/<name>`` against localhost; raise ``ClusterError`` naming the failed task.

    ``progress`` is told each task as it starts (``Run each action...`` names the plan's actions).
    """
    try:
        import ansible_runner
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise HarnessError("ansible-runner is not installed", hint="pip install ansible-runner ansible-core") from exc
    playbook = playbooks_dir() / name
    if not playbook.is_file():
        raise HarnessError(f"no playbook {playbook}", hint="set SPIN_HARNESS_PLAYBOOKS to the playbooks directory")
    if shutil.which("ansible-playbook") is None and not (Path(sys.executable).parent / "ansible-playbook").exists():
        raise HarnessError("ansible-playbook is not installed", hint="pip install ansible-core")
    record = PlaybookRun(playbook=name)
    started_at: dict[str, float] = {}

    def on_event(event: dict[str, Any]) -> bool:
        data = event.get("event_data", {})
        kind = event.get("event", "")
        if kind == "runner_on_start":
            started_at[data.get("task_uuid", "")] = time.monotonic()
            progress(f"{name}: {data.get('task', '?')}")
        elif kind in _STATUS:
            result = data.get("res", {}) or {}
            status = _STATUS[kind]
            if status == "ok" and result.get("changed"):
                status = "changed"
            begun = started_at.pop(data.get("task_uuid", ""), time.monotonic())
            # The CLI's one-line error comes first in stderr; keep the head, not the log tail.
            message = "; ".join(str(result[k]).strip()[:2000] for k in ("msg", "stderr") if result.get(k))
            record.events.append(PlaybookEvent(data.get("task", "?"), status, time.monotonic() - begun, message))
        return True

    private = Path(tempfile.mkdtemp(prefix="spin-ansible-"))
    bin_dir = str(Path(sys.executable).parent)
    envvars = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_NOCOLOR": "True",
        # Modules run from stdin: no temporary files, and three fewer processes, per task.
        "ANSIBLE_PIPELINING": "True",
    }
    envvars.update({k: v for k, v in os.environ.items() if k.startswith("SPIN_HARNESS_")})
    started = time.monotonic()
    try:
        result = ansible_runner.run(
            private_data_dir=str(private),
            playbook=str(playbook),
            inventory="localhost ansible_connection=local",
            extravars=extravars,
            envvars=envvars,
            event_handler=on_event,
            quiet=True,
            timeout=int(timeout),
        )
        record.status, record.rc = str(result.status), int(result.rc if result.rc is not None else -1)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    record.seconds = time.monotonic() - started
    if record.status != "successful":
        failed = next((e for e in record.events if e.status == "failed"), None)
        where = f"task {failed.task!r}: {failed.message}" if failed else f"status {record.status}, rc {record.rc}"
        error = ClusterError(f"playbook {name} failed at {where}")
        error.playbook = record  # type: ignore[attr-defined]  # the events so far, for the report
        raise error
    return record
