"""A cell's scenario teardowns, run together while each item still reports its own.

A cell tears its scenarios down one after another, and nearly all of that time is waiting:
for pods to stop, and for the namespace controller, which starts on a deleted namespace only
5 s after it sees the deletion (a delay fixed in Kubernetes). Scenarios do not depend on one
another (each also runs on its own), so the first teardown item starts the teardowns of every
scenario whose teardown item is selected, each on a thread, and every item then waits for its
own scenario's and reports its steps, or raises its error or skip, as if it had run it itself.

Objects that several scenarios remove (the tenant namespaces, the webhook registrations) go
with whichever teardown gets there first; every teardown already accepts objects that are
gone, as it had to when it ran after another scenario's.

The threads are daemons: a teardown only talks to the API, and after Ctrl-C the session
removes the cluster, so nothing is left that the interpreter should wait for.
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
        with the others (its item was not selected then) runs now, on the caller's thread."""
        self.start(version)
        assert self._started is not None
        started = self._started.pop(scenario.name, None)
        if started is None:
            return self._phase(scenario, "teardown", version)
        started.done.wait()
        if started.error is not None:
            raise started.error
        return started.result
