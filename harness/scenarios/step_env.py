"""What a leaf step's action works with: ``StepEnv``, bounded retries, and the objects a step names.

``StepEnv`` carries who the action acts as, for which tenant, with which template variables;
``retry`` is the one way an action waits (an answer meaning "not yet" is asked again until
the step's timeout, a decision ends the wait at once, and a single attempt inside probes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from harness.errors import HarnessError, InputError, WaitTimeout
from harness.kube.waits import FinalAnswer, wait_until
from harness.scenarios.context import CheckContext
from harness.scenarios.leaf_steps import AssertStep, DeleteStep, ExpectDeniedStep
from harness.scenarios.load import Scenario, StepPath
from harness.scenarios.redact import Scrubber
from harness.scenarios.render import manifest_problem
from harness.scenarios.rest import Kube
from harness.scenarios.results import StepMismatch
from harness.scenarios.tenants import Tenant

Attempt = Callable[[], tuple[bool, str]]


@dataclass(frozen=True)
class StepEnv:
    """Everything an action needs: who it acts as, for which tenant, with which variables."""

    scenario: Scenario
    phase: str
    kube: Kube
    admin: Kube
    variables: dict[str, Any]
    tenant: Tenant | None
    field_manager: str
    scrubber: Scrubber
    check_context: Callable[[StepEnv], CheckContext]
    #: ``identities(user, groups)``: a Kube acting as that identity (cached per session).
    identities: Callable[[str, list[str]], Kube]
    single_attempt: bool = False
    identity: str = "admin"

    def with_variables(self, **extra: Any) -> StepEnv:
        return replace(self, variables={**self.variables, **extra})

    def render(self, value: Any, where: StepPath) -> Any:
        return self.scenario.renderer.value(value, self.variables, self.scenario.locate, where)

    def text(self, value: str | None, where: StepPath) -> str | None:
        if value is None:
            return None
        rendered = self.render(value, where)
        return str(rendered) if rendered is not None else None

    def documents(
        self, template: str | None, manifest: dict[str, Any] | None, extra: dict[str, Any], where: StepPath
    ) -> list[dict[str, Any]]:
        """The objects of ``template`` or of the inline ``manifest``, rendered for this tenant."""
        env = self.with_variables(vars=self.render(extra, (*where, "vars"))) if extra else self
        if template is not None:
            documents = env.scenario.renderer.template(template, env.variables)
        else:
            documents = [env.render(manifest, (*where, "manifest"))]
            problem = manifest_problem(documents[0])
            if problem:
                raise InputError(f"{self.scenario.locate((*where, 'manifest'))}: the manifest {problem}")
        self.scrubber.learn(documents)
        return documents

    def retry(self, what: str, attempt: Attempt, timeout: float, expected: str) -> str:
        """Run ``attempt`` until it reports done; ``StepMismatch`` with the last observation if never."""
        last = ["not checked yet"]

        def guarded() -> tuple[bool, str]:
            try:
                done, detail = attempt()
            except (HarnessError, FinalAnswer):
                raise  # a decision (StepMismatch) or a scenario bug (InputError): stop now
            except Exception as exc:  # an unexpected answer: keep it as the observation
                done, detail = False, f"{type(exc).__name__}: {exc}"
            last[0] = self.scrubber.scrub(detail)
            return done, last[0]

        if self.single_attempt or timeout <= 0:
            done, detail = guarded()
            if not done:
                raise StepMismatch(expected, detail)
            return detail
        try:
            return wait_until(what, guarded, timeout=timeout, interval=0.2, max_interval=1.0)
        except WaitTimeout:
            raise StepMismatch(expected, f"still not so after {timeout:g}s: {last[0]}") from None


def label(manifest: dict[str, Any]) -> str:
    """``ConfigMap tenant-alpha/settings``: how messages name an object."""
    metadata = manifest.get("metadata") or {}
    namespace = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{manifest.get('kind')} {namespace}{metadata.get('name')}"


@dataclass(frozen=True)
class Target:
    """The object (or objects) a step names, rendered for the current tenant."""

    api_version: str | None
    kind: str
    name: str | None
    namespace: str | None
    label_selector: str | None

    def describe(self) -> str:
        kind = f"{self.kind} ({self.api_version})" if self.api_version else self.kind
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{kind} {where}{self.name or f'[{self.label_selector}]'}"


def step_target(step: AssertStep | ExpectDeniedStep | DeleteStep, env: StepEnv, where: StepPath) -> Target:
    selector = getattr(step, "label_selector", None)
    return Target(
        env.text(step.api_version, (*where, "apiVersion")),
        env.text(step.kind, (*where, "kind")) or "",
        env.text(step.name, (*where, "name")),
        env.text(step.namespace, (*where, "namespace")),
        env.text(selector, (*where, "label_selector")),
    )
