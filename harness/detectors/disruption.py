"""disruption: what the during-probes saw while a hop ran, against the matrix's budget.

Upstream upgrade tests report disruption as pass/fail; here each probe keeps a timeline of
attempts, from which outage windows (consecutive failures) and availability are computed, so
reports can draw the timeline and say exactly how long the API was away.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.detectors.base import HopContext, SnapshotContext
from harness.findings import Finding, Severity

if TYPE_CHECKING:
    from harness.matrix import ProbeBudget


@dataclass(frozen=True)
class Attempt:
    at: float  # seconds since the probe started
    ok: bool
    latency: float
    error: str = ""


#: What a probe goes through, and so which of the matrix's outage budgets judges it: "api" for
#: requests any client makes through the apiserver, "webhook" for the admission webhook path.
PROBE_TARGETS = ("api", "webhook")


@dataclass
class Timeline:
    name: str
    attempts: list[Attempt] = field(default_factory=list)
    target: str = "api"

    def outages(self) -> list[tuple[float, float]]:
        """(start, end) of each run of failed attempts, end = the next success (or last attempt)."""
        windows: list[tuple[float, float]] = []
        start: float | None = None
        for attempt in self.attempts:
            if not attempt.ok and start is None:
                start = attempt.at
            elif attempt.ok and start is not None:
                windows.append((start, attempt.at))
                start = None
        if start is not None:
            windows.append((start, self.attempts[-1].at))
        return windows

    def availability(self) -> float:
        if not self.attempts:
            return 1.0
        return sum(a.ok for a in self.attempts) / len(self.attempts)

    def longest_outage(self) -> float:
        return max((end - start for start, end in self.outages()), default=0.0)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "target": self.target,
            "availability": round(self.availability(), 4),
            "longest_outage_seconds": round(self.longest_outage(), 2),
            "outages": [[round(s, 2), round(e, 2)] for s, e in self.outages()],
            "attempts": [[round(a.at, 2), a.ok, round(a.latency, 3), a.error] for a in self.attempts],
        }


class Probe:
    """Calls ``check`` every ``interval`` seconds on a thread until stopped; records a Timeline."""

    def __init__(self, name: str, check: Callable[[], None], *, interval: float = 0.25, target: str = "api") -> None:
        self.timeline = Timeline(name, target=target)
        self._check = check
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"probe-{name}", daemon=True)
        self._origin = 0.0

    def start(self) -> Probe:
        self._origin = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> Timeline:
        self._stop.set()
        self._thread.join(timeout=10)
        return self.timeline

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self._check()
                ok, error = True, ""
            except Exception as exc:  # every failure is data for the timeline
                ok, error = False, f"{type(exc).__name__}: {str(exc)[:160]}"
            ended = time.monotonic()
            self.timeline.attempts.append(Attempt(began - self._origin, ok, ended - began, error))
            self._stop.wait(max(0.0, self._interval - (ended - began)))


@dataclass(frozen=True)
class Budget:
    max_outage_seconds: float
    min_availability: float


def compare(timeline: Timeline, budget: Budget, hop: str) -> list[Finding]:
    longest, availability = timeline.longest_outage(), timeline.availability()
    evidence = timeline.to_json()
    if longest > budget.max_outage_seconds or availability < budget.min_availability:
        return [
            Finding(
                "disruption",
                Severity.BREAKING,
                hop,
                timeline.name,
                f"{timeline.name} was unavailable for up to {longest:.1f}s "
                f"(budget {budget.max_outage_seconds:.1f}s), availability {availability:.1%} "
                f"(budget {budget.min_availability:.1%})",
                evidence,
            )
        ]
    if longest > 0:
        return [
            Finding(
                "disruption",
                Severity.INFO,
                hop,
                timeline.name,
                f"{timeline.name} was unavailable for up to {longest:.1f}s, within budget",
                evidence,
            )
        ]
    return []


def judge(timelines: Iterable[Timeline], budgets: Mapping[str, Budget], hop: str) -> list[Finding]:
    """Each timeline against the budget its probe names (``Timeline.target``).

    Every scenario probe reaches the cluster through the apiserver, so it is down whenever the
    apiserver is and is held to the API budget by default; probes whose answer comes from a
    webhook (``target: webhook``) are held to the webhook budget, which should therefore be
    at least the API budget.
    """
    return [finding for t in timelines for finding in compare(t, budgets[t.target], hop)]


def budgets(budget: ProbeBudget) -> dict[str, Budget]:
    """The matrix's probe budget, per probe target (``Timeline.target``)."""
    return {
        "api": Budget(budget.api_max_outage_seconds, budget.min_availability),
        "webhook": Budget(budget.webhook_max_outage_seconds, budget.min_availability),
        "ingress": Budget(budget.ingress_max_outage_seconds, budget.min_availability),
    }


class Disruption:
    """The probes' timelines during the hop against the matrix's budgets; nothing to snapshot."""

    name = "disruption"
    reads_after = False

    def snapshot(self, ctx: SnapshotContext) -> None:
        return None

    def compare(self, before: None, after: None, hop: HopContext) -> list[Finding]:
        return judge(hop.timelines, budgets(hop.budget), hop.label)


DETECTOR = Disruption()
