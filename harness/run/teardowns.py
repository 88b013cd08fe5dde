"""A cell's scenario teardowns, run together while each item still reports its own.

Nearly all of a teardown is waiting: for pods to stop, and for the namespace controller, which
starts on a deleted namespace only 5 s after it sees the deletion (a delay fixed in
Kubernetes). Run one after another, a cell's teardowns added those waits up. Scenarios do not
depend on one another (each also runs on its own), so the first teardown item starts the
teardowns of every scenario whose teardown item is selected, each on a thread, and every item
then waits for its own scenario's and reports its steps, or raises its error or skip, as if it
had run it itself. The cell's timings of each teardown therefore overlap.

Objects that several scenarios remove (the tenant namespaces, the webhook registrations) go
with whichever teardown gets there first; every teardown already accepts objects that are
gone, as it had to when it ran after another scenario's.

The threads are daemons: a teardown only talks to the API, so nothing of it outlives the
process. A run that stops before every teardown item has had its answer (Ctrl-C, ``-x``) leaves
teardowns running while the cell ends: ``unfinished`` names them, and the cell says so before it
removes (or keeps) the cluster under them.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from harness.scenarios.results import PhaseResult


class Named(Protocol):
    @property
    def name(self) -> str: ...


S = TypeVar("S", bound=Named)


class _Teardown(Generic[S]):
    """One scenario's teardown on a thread of its own: its result or its error, once done."""

    def __init__(self, scenario: S, run: Callable[[S], PhaseResult | None]) -> None:
        self.result: PhaseResult | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        context = contextvars.copy_context()
        threading.Thread(
            target=context.run, args=(self._run, scenario, run), name=f"teardown {scenario.name}", daemon=True
        ).start()

    def _run(self, scenario: S, run: Callable[[S], PhaseResult | None]) -> None:
        try:
            self.result = run(scenario)
        except BaseException as exc:  # handed to the scenario's own item
            self.error = exc
        finally:
            self.done.set()


class Teardowns(Generic[S]):
    """A cell's scenario teardowns: ``start`` sets them all off at once, ``result`` waits for one.

    ``phase(scenario, "teardown", version)`` runs one (the cell's ``scenario_phase``).
    """

    def __init__(self, scenarios: Iterable[S], phase: Callable[[S, str, str], PhaseResult | None]) -> None:
        self._scenarios = list(scenarios)
        self._phase = phase
        self._started: dict[str, _Teardown[S]] | None = None

    def start(self, version: str, selected: Collection[str] | None = None) -> None:
        """Start the teardowns at ``version`` of the scenarios named in ``selected`` (all if
        None); only the first call does anything."""
        if self._started is None:

            def run(scenario: S) -> PhaseResult | None:
                return self._phase(scenario, "teardown", version)

            chosen = [s for s in self._scenarios if selected is None or s.name in selected]
            self._started = {s.name: _Teardown(s, run) for s in chosen}

    def result(self, scenario: S, version: str) -> PhaseResult | None:
        """``scenario``'s teardown result, or its error raised here. One that was not started
        with the others (none were started, or its item was not selected then) runs now, on
        the caller's thread."""
        started = self._started.pop(scenario.name, None) if self._started is not None else None
        if started is None:
            return self._phase(scenario, "teardown", version)
        started.done.wait()
        if started.error is not None:
            raise started.error
        return started.result

    def unfinished(self) -> list[str]:
        """The scenarios whose teardown was started and has not ended yet."""
        return [name for name, started in (self._started or {}).items() if not started.done.is_set()]
