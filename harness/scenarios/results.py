"""What running a phase produced: per-step results, the phase verdict, and the failure.

A failure must be actionable from the message alone, read in a CI log hours later: which
scenario, phase and step (index, and the step's own name), for which tenant, where in the
YAML, what was expected and what the cluster showed instead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from harness.config.yamlfile import format_field
from harness.kube.waits import FinalAnswer


class Status(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class StepResult:
    """One step for one tenant (or once, when the step is not per tenant)."""

    path: str  # "verify[3]" or "verify[3].as_user.steps[1]"
    title: str
    status: Status
    seconds: float
    message: str = ""
    tenant: str | None = None

    def line(self) -> str:
        who = f" [{self.tenant}]" if self.tenant else ""
        detail = f": {self.message}" if self.message else ""
        return f"{self.status.value:7} {self.path}{who} {self.title} ({self.seconds:.2f}s){detail}"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "title": self.title,
            "status": self.status.value,
            "seconds": round(self.seconds, 3),
            "message": self.message,
            "tenant": self.tenant,
        }


@dataclass
class PhaseResult:
    """A phase of one scenario: passed, failed or skipped, with every step's result."""

    scenario: str
    phase: str
    status: Status
    steps: list[StepResult] = field(default_factory=list)
    seconds: float = 0.0
    #: Why the whole phase was skipped.
    reason: str = ""
    #: Every step that failed (setup and verify stop at the first; teardown runs on).
    failures: list[StepFailed] = field(default_factory=list)

    @property
    def skipped_steps(self) -> list[StepResult]:
        return [s for s in self.steps if s.status is Status.SKIPPED]

    def summary(self) -> str:
        head = f"{self.scenario} {self.phase}: {self.status.value} in {self.seconds:.1f}s"
        if self.reason:
            head += f" ({self.reason})"
        return "\n".join([head, *(f"  {s.line()}" for s in self.steps)])

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "phase": self.phase,
            "status": self.status.value,
            "seconds": round(self.seconds, 3),
            "reason": self.reason,
            "steps": [s.to_json() for s in self.steps],
        }

    def raise_for_status(self) -> None:
        """Raise the first failure (with the others counted in its message) if the phase failed."""
        if self.failures:
            first = self.failures[0]
            first.others = self.failures[1:]
            first.result = self
            raise first


class StepFailed(AssertionError):
    """A tenant promise did not hold: the message names scenario, phase, step, tenant, expected
    and observed.

    An ``AssertionError``: a broken promise is a test failure (exit 1), never a harness error
    (exit 2). Made by the runner from an action's ``StepMismatch``; a failure of the harness
    itself (a scenario that does not render, a cluster that cannot be reached) stays a
    ``HarnessError`` and never becomes a ``StepFailed``.
    """

    def __init__(
        self,
        *,
        scenario: str,
        phase: str,
        where: tuple[str | int, ...],
        title: str,
        expected: str,
        observed: str,
        tenant: str | None = None,
        location: str = "",
    ) -> None:
        self.scenario = scenario
        self.phase = phase
        self.where = where
        self.path = format_field(where)
        self.index = where[1] if len(where) > 1 and isinstance(where[1], int) else -1
        self.title = title
        self.expected = expected
        self.observed = observed
        self.tenant = tenant
        self.location = location
        self.others: list[StepFailed] = []
        self.result: PhaseResult | None = None
        super().__init__(self.headline())

    def headline(self) -> str:
        who = f" for tenant {self.tenant}" if self.tenant else ""
        return f'scenario {self.scenario}, {self.phase} step {self.path} "{self.title}" failed{who}'

    def __str__(self) -> str:
        lines = [self.headline()]
        if self.location:
            lines.append(f"  at: {self.location}")
        lines += [f"  expected: {self.expected}", f"  observed: {self.observed}"]
        if self.others:
            lines.append(f"  ({len(self.others)} more step(s) failed in this phase:)")
            lines += [
                f'  - {o.path} "{o.title}"{f" [{o.tenant}]" if o.tenant else ""}: {o.observed}' for o in self.others
            ]
        return "\n".join(lines)


class StepMismatch(FinalAnswer):
    """Raised by a step's action: the cluster answered, and not as the step expects.

    Carries only what was expected and what was observed; the runner adds scenario, phase,
    step and tenant and raises ``StepFailed``. Not a ``HarnessError``: the harness worked, the
    tenant's promise did not hold. A ``FinalAnswer`` so that ``wait_until`` stops at once
    (the answer will not change by asking again).
    """

    def __init__(self, expected: str, observed: str) -> None:
        super().__init__(f"expected {expected}; observed {observed}")
        self.expected = expected
        self.observed = observed


class StepSkipped(Exception):
    """Raised by a step's action when it cannot apply here; the reason goes into the result."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
