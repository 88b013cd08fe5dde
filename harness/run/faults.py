"""Faults injected while a hop runs: a component killed or frozen mid-upgrade.

    kill:kube-apiserver:3          SIGKILL the apiserver 3 s into every hop
    stop:etcd:2@local:*>v1.37.2    SIGSTOP etcd 2 s into hops of matching cells (a hang)

The harness must then fail that cell with a classified cause and its artifacts, and carry on
with the other cells. Frozen components are thawed (SIGCONT) when the hop ends, so cleanup
can stop them.
"""

from __future__ import annotations

import contextlib
import fnmatch
import signal
import threading
from dataclasses import dataclass, field

import psutil

from harness.errors import HarnessError, InputError
from harness.providers import component_pids

ACTIONS = {"kill": signal.SIGKILL, "stop": signal.SIGSTOP}


@dataclass(frozen=True)
class Fault:
    action: str
    component: str
    after_seconds: float
    cells: str = "*"

    @classmethod
    def parse(cls, text: str) -> Fault:
        spec, _, cells = text.partition("@")
        parts = spec.split(":")
        if len(parts) != 3 or parts[0] not in ACTIONS:
            raise InputError(
                f"--inject-fault: {text!r} is not ACTION:COMPONENT:SECONDS[@CELL-GLOB]",
                hint="e.g. kill:kube-apiserver:3 or stop:etcd:2@local:*",
            )
        try:
            delay = float(parts[2])
        except ValueError:
            raise InputError(f"--inject-fault: {parts[2]!r} is not a number of seconds") from None
        return cls(parts[0], parts[1], delay, cells or "*")

    def applies_to(self, cell_id: str) -> bool:
        return fnmatch.fnmatchcase(cell_id, self.cells)


@dataclass
class FaultTimer:
    """Applies faults to one cluster's components on a timer; ``stop`` cancels and thaws."""

    cluster_name: str
    faults: list[Fault]
    applied: list[str] = field(default_factory=list)
    _timers: list[threading.Timer] = field(default_factory=list)
    _frozen: list[int] = field(default_factory=list)

    def start(self) -> FaultTimer:
        for fault in self.faults:
            timer = threading.Timer(fault.after_seconds, self._apply, args=(fault,))
            timer.daemon = True
            timer.start()
            self._timers.append(timer)
        return self

    def _apply(self, fault: Fault) -> None:
        try:
            pid = component_pids(self.cluster_name)[fault.component]
            proc = psutil.Process(pid)
            proc.send_signal(ACTIONS[fault.action])
            if fault.action == "stop":
                self._frozen.append(pid)
            self.applied.append(f"{fault.action} {fault.component} (pid {pid}) at {fault.after_seconds}s")
        except (KeyError, psutil.Error, OSError, HarnessError) as exc:
            self.applied.append(f"{fault.action} {fault.component}: not applied ({exc})")

    def stop(self) -> list[str]:
        for timer in self._timers:
            timer.cancel()
        for pid in self._frozen:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).send_signal(signal.SIGCONT)
        return self.applied
