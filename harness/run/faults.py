"""Faults injected while a hop runs: a component killed or frozen mid-upgrade.

A fault is ``ACTION:COMPONENT:WHEN[:FOR][@CELL-GLOB]``, given to ``spin-harness run`` (or pytest
with ``--matrix``) as ``--inject-fault`` once per fault:

    kill:kube-apiserver:3                 SIGKILL the apiserver 3 s into every hop
    stop:etcd:2@local:*>v1.37.2           SIGSTOP etcd 2 s into hops of matching cells (a hang)
    stop:kube-apiserver:5:25              freeze the apiserver 5 s into every hop, for 25 s
    stop:kube-apiserver:replaced+0:25     freeze the apiserver the hop's upgrade has just
                                          started, for 25 s

``WHEN`` is seconds into the hop, or ``replaced+SECONDS``: that long after the upgrade replaced
the component's process (its pid changed), so the fault hits the new version whatever the
upgrade did before. Only host processes can be hit (``ClusterProvider.component_pids``: the
local provider's components). ``FOR`` (``stop`` only) thaws the component (SIGCONT) after that
many seconds; without it, it stays frozen until the hop ends. Whatever happens, every frozen
component is thawed when the hop ends (``FaultTimer.stop``), so the cluster can be stopped and
removed: a frozen process only dies of SIGKILL.

The harness must then fail that cell with a classified cause and its artifacts, or report the
outage a freeze caused as a finding, and carry on with the other cells.
"""

from __future__ import annotations

import fnmatch
import signal
import threading
import time
from dataclasses import dataclass, field

import psutil

from harness.errors import HarnessError, InputError
from harness.providers import component_pids

ACTIONS = {"kill": signal.SIGKILL, "stop": signal.SIGSTOP}
#: ``WHEN`` counted from the component's replacement rather than from the hop's start.
REPLACED = "replaced+"
#: How often a ``replaced+`` fault looks for the component's new process.
POLL_SECONDS = 0.2
FORMAT = "ACTION:COMPONENT:WHEN[:FOR][@CELL-GLOB]"
EXAMPLES = "e.g. kill:kube-apiserver:3, stop:etcd:2@local:*, stop:kube-apiserver:replaced+0:25"


def _seconds(text: str, spec: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            f"--inject-fault {spec!r}: {what} {text!r} is not a number of seconds", hint=EXAMPLES
        ) from None
    if value < 0:
        raise InputError(f"--inject-fault {spec!r}: {what} {text!r} is negative", hint=EXAMPLES)
    return value


@dataclass(frozen=True)
class Fault:
    action: str
    component: str
    after_seconds: float
    cells: str = "*"
    #: Thaw a ``stop`` after this many seconds (None: at the end of the hop).
    for_seconds: float | None = None
    #: Count ``after_seconds`` from the component's replacement by the upgrade.
    after_replaced: bool = False

    @classmethod
    def parse(cls, text: str) -> Fault:
        spec, _, cells = text.partition("@")
        parts = spec.split(":")
        if len(parts) not in (3, 4) or parts[0] not in ACTIONS or not parts[1]:
            raise InputError(f"--inject-fault: {text!r} is not {FORMAT}", hint=EXAMPLES)
        when = parts[2]
        after_replaced = when.startswith(REPLACED)
        delay = _seconds(when[len(REPLACED) :] if after_replaced else when, text, "WHEN")
        duration = None
        if len(parts) == 4:
            if parts[0] != "stop":
                raise InputError(f"--inject-fault {text!r}: only 'stop' lasts FOR seconds", hint=EXAMPLES)
            duration = _seconds(parts[3], text, "FOR")
        return cls(parts[0], parts[1], delay, cells or "*", duration, after_replaced)

    def applies_to(self, cell_id: str) -> bool:
        return fnmatch.fnmatchcase(cell_id, self.cells)


@dataclass
class FaultTimer:
    """Applies faults to one cluster's components during a hop; ``stop`` cancels and thaws."""

    cluster_name: str
    faults: list[Fault]
    applied: list[str] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)
    #: Frozen processes not thawed yet, with their component's name.
    _frozen: list[tuple[psutil.Process, str]] = field(default_factory=list)
    _ended: threading.Event = field(default_factory=threading.Event)
    #: Held while a signal is sent, so none is sent once ``stop`` has begun.
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _started: float = 0.0

    def start(self) -> FaultTimer:
        self._started = time.monotonic()
        for fault in self.faults:
            # Read before the upgrade starts, so a replacement cannot be missed.
            first = self._pid(fault.component) if fault.after_replaced else None
            thread = threading.Thread(target=self._run, args=(fault, first), daemon=True, name=f"fault {fault}")
            thread.start()
            self._threads.append(thread)
        return self

    def _pid(self, component: str) -> int | None:
        try:
            return component_pids(self.cluster_name).get(component)
        except HarnessError:
            return None

    def _at(self) -> str:
        return f"{time.monotonic() - self._started:.1f}s"

    def _run(self, fault: Fault, first: int | None) -> None:
        if fault.after_replaced:
            while (pid := self._pid(fault.component)) is None or pid == first:
                if self._ended.wait(POLL_SECONDS):
                    self.applied.append(f"{fault.action} {fault.component}: not applied (it was not replaced)")
                    return
        if self._ended.wait(fault.after_seconds):
            return
        frozen = self._apply(fault)
        if frozen is None or fault.for_seconds is None or self._ended.wait(fault.for_seconds):
            return  # stop() thaws it
        with self._lock:
            if (frozen, fault.component) in self._frozen:
                self._thaw(frozen, fault.component)

    def _apply(self, fault: Fault) -> psutil.Process | None:
        """Send the fault's signal; the process when it is now frozen."""
        with self._lock:
            if self._ended.is_set():
                return None
            try:
                pid = component_pids(self.cluster_name)[fault.component]
                proc = psutil.Process(pid)
                proc.send_signal(ACTIONS[fault.action])
            except (KeyError, psutil.Error, OSError, HarnessError) as exc:
                self.applied.append(f"{fault.action} {fault.component}: not applied ({exc!r})")
                return None
            lasting = f" for {fault.for_seconds:g}s" if fault.for_seconds is not None else ""
            self.applied.append(f"{fault.action} {fault.component} (pid {pid}) at {self._at()}{lasting}")
            if fault.action != "stop":
                return None
            self._frozen.append((proc, fault.component))
            return proc

    def _thaw(self, proc: psutil.Process, component: str) -> None:
        """SIGCONT a frozen process (lock held); a process gone meanwhile needs nothing."""
        self._frozen.remove((proc, component))
        try:
            proc.send_signal(signal.SIGCONT)
        except psutil.Error:
            return
        self.applied.append(f"cont {component} (pid {proc.pid}) at {self._at()}")

    def stop(self) -> list[str]:
        """End every fault: nothing more is sent, every frozen process is thawed; what was done."""
        with self._lock:
            self._ended.set()
            for proc, component in list(self._frozen):
                self._thaw(proc, component)
        for thread in self._threads:
            thread.join(timeout=5)
        return list(self.applied)
