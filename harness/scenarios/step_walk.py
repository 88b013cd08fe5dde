"""Walking a phase's steps: for each tenant, in order, into ``as_user`` and ``probe`` steps.

Every step gets a result (passed, failed or skipped, with what it saw), in the order the
steps are written, a container's own result before its nested steps'. A step needing a
capability the provider lacks, or whose ``when`` is false, is skipped with the reason. An
action's ``StepMismatch`` becomes a ``StepFailed`` naming scenario, phase, step, tenant and the
line of ``scenario.yaml``; every message is scrubbed of the Secret values the run applied.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from harness.config.yamlfile import format_field
from harness.errors import InputError
from harness.scenarios.context import tenant_context
from harness.scenarios.load import Scenario, StepPath
from harness.scenarios.model import AsUserStep, ProbeStep, Step
from harness.scenarios.redact import Scrubber
from harness.scenarios.render import bare_expression
from harness.scenarios.results import Status, StepFailed, StepMismatch, StepResult, StepSkipped
from harness.scenarios.step_env import StepEnv
from harness.scenarios.steps import LEAVES
from harness.scenarios.tenants import Tenant


@dataclass
class PhaseRun:
    """The results and failures of one phase so far, and whether it stops at the first failure."""

    phase: str
    keep_going: bool
    results: list[StepResult] = field(default_factory=list)
    failures: list[StepFailed] = field(default_factory=list)

    @property
    def stopped(self) -> bool:
        return bool(self.failures) and not self.keep_going

    def verdict(self) -> Status:
        if self.failures:
            return Status.FAILED
        if self.results and all(r.status is Status.SKIPPED for r in self.results):
            return Status.SKIPPED
        return Status.PASSED


class StepWalker:
    """Runs steps of one scenario for its tenants; ``lacks(required)`` says why a step cannot run here."""

    def __init__(
        self,
        scenario: Scenario,
        tenants: Sequence[Tenant],
        lacks: Callable[[Iterable[str]], str],
        scrubber: Scrubber,
    ) -> None:
        self.scenario = scenario
        self.tenants = list(tenants)
        self.lacks = lacks
        self.scrubber = scrubber

    def run_steps(self, steps: list[Step], where: StepPath, run: PhaseRun, env: StepEnv) -> None:
        for index, step in enumerate(steps):
            if run.stopped:
                return
            self.run_step(step, (*where, index), run, env)

    def run_step(self, step: Step, where: StepPath, run: PhaseRun, env: StepEnv) -> None:
        lacking = self.lacks(step.requires)
        if lacking:
            run.results.append(self._result(where, step, Status.SKIPPED, 0.0, lacking, env))
            return
        bind = step.per_tenant and env.tenant is None
        for tenant in self.tenants if bind else [env.tenant]:
            if run.stopped:
                return
            tenant_env = env
            if bind and tenant is not None:
                tenant_env = replace(env, tenant=tenant, variables=tenant_context(env.variables, self.tenants, tenant))
            self._run_for_tenant(step, where, run, tenant_env)

    def _run_for_tenant(self, step: Step, where: StepPath, run: PhaseRun, env: StepEnv) -> None:
        started = time.monotonic()
        slot = len(run.results)  # a container's own result goes before its nested steps' results
        failures_before = len(run.failures)

        def record(status: Status, message: str, at: int | None = None) -> None:
            result = self._result(where, step, status, time.monotonic() - started, message, env)
            run.results.insert(len(run.results) if at is None else at, result)

        try:
            if step.when is not None:
                expression = bare_expression(step.when)
                locate = self.scenario.locate
                if not self.scenario.renderer.expression(expression, env.variables, locate, (*where, "when")):
                    record(Status.SKIPPED, f"when: {expression} is false")
                    return
            if step.as_user is not None:
                detail = self._as_user(step.as_user, where, run, env)
            elif step.probe is not None:
                detail = self._probe_once(step.probe, where, run, env)
            else:
                detail = LEAVES[step.step_type](step.action, env, where)
        except StepMismatch as failure:
            failed = StepFailed(
                scenario=self.scenario.name,
                phase=run.phase,
                where=where,
                title=self._title(step, env, where),
                expected=self.scrubber.scrub(failure.expected),
                observed=self.scrubber.scrub(failure.observed),
                tenant=env.tenant.name if env.tenant else None,
                location=f"{self.scenario.source.path}:{self.scenario.source.line_of(where)}",
            )
            run.failures.append(failed)
            record(Status.FAILED, failed.observed)
            return
        except StepSkipped as skipped:
            record(Status.SKIPPED, self.scrubber.scrub(skipped.reason))
            return
        if len(run.failures) > failures_before:
            record(Status.FAILED, "a nested step failed", at=slot)
        else:
            record(Status.PASSED, self.scrubber.scrub(detail), at=slot)

    def _as_user(self, step: AsUserStep, where: StepPath, run: PhaseRun, env: StepEnv) -> str:
        user = env.text(step.user, (*where, "as_user", "user")) or ""
        rendered = env.render(step.groups, (*where, "as_user", "groups"))
        groups = [str(g) for g in (rendered if isinstance(rendered, list) else [rendered])]
        nested = replace(env, kube=env.identities(user, groups), identity=user)
        self.run_steps(step.steps, (*where, "as_user", "steps"), run, nested)
        return f"{len(step.steps)} step(s) as {user}" + (f" in {', '.join(groups)}" if groups else "")

    def _probe_once(self, step: ProbeStep, where: StepPath, run: PhaseRun, env: StepEnv) -> str:
        single = replace(env, single_attempt=True)
        self.run_steps(step.steps, (*where, "probe", "steps"), run, single)
        return f"{len(step.steps)} probe step(s) passed once"

    def _title(self, step: Step, env: StepEnv, where: StepPath) -> str:
        """The step's name (or description) rendered for the tenant; as written if it cannot be."""
        try:
            return str(env.render(step.title, (*where, "name")))
        except InputError:
            return step.title

    def _result(
        self, where: StepPath, step: Step, status: Status, seconds: float, message: str, env: StepEnv
    ) -> StepResult:
        tenant = env.tenant.name if env.tenant else None
        return StepResult(format_field(where), self._title(step, env, where), status, seconds, message, tenant)
