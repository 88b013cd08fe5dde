"""Running a scenario's phases against a cluster, given only its kubeconfig.

The contract follows the upstream upgrade tests: ``setup`` once before the first hop,
``verify`` after every hop (and once before the first), ``during`` while a hop runs
(``start_during`` starts the probes, ``stop`` returns their timelines), ``teardown`` at the
end. Nothing here knows how the cluster was made or upgraded, so the same scenario checks a
harness-built cluster or a production one before and after an upgrade done by other means.

Outcomes are explicit: a step needing a capability the provider lacks is SKIPPED with the
reason (never passed silently); ``setup`` and ``verify`` stop at the first failed step (later
steps build on earlier ones); ``teardown`` runs every step and fails if any failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.detectors.disruption import Probe, Timeline
from harness.errors import InputError
from harness.kube.client import server_version
from harness.kube.labels import field_manager
from harness.providers.base import ProviderCapabilities
from harness.scenarios.context import CheckContext, base_context, leading_version
from harness.scenarios.load import Scenario, StepPath
from harness.scenarios.model import PHASES, Step
from harness.scenarios.preview import preview
from harness.scenarios.redact import Scrubber
from harness.scenarios.results import PhaseResult, Status, StepResult
from harness.scenarios.services import ServiceSet
from harness.scenarios.session import ApiSession
from harness.scenarios.step_env import StepEnv
from harness.scenarios.step_walk import PhaseRun, StepWalker
from harness.scenarios.tenants import Tenant, default_tenants
from harness.versions import KubeVersion


class DuringHandle:
    """The probes of one scenario while a hop runs; ``stop()`` returns one timeline per probe.

    ``result()`` says which ``during`` steps ran and which did not, like a phase's result: a
    probe skipped for a capability the provider lacks must show in the report as not run,
    never vanish from it.
    """

    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        #: Wall-clock time the probes started; timeline attempts are seconds after it.
        self.started_at = time.time()
        self.probes: list[Probe] = []
        #: Path and title of each started probe's step (``during[1]``), in ``probes`` order.
        self.probe_steps: list[tuple[str, str]] = []
        #: Probes not started, with the reason (a capability the provider lacks).
        self.skipped: list[str] = []
        #: The same, as step results (every step when the whole scenario was skipped: none).
        self.skipped_steps: list[StepResult] = []
        #: Why the whole scenario's probes were not started.
        self.reason = ""
        #: The probes' own API clients, closed by ``stop``.
        self.sessions: list[ApiSession] = []
        self._timelines: list[Timeline] | None = None

    def stop(self) -> list[Timeline]:
        """Stop every probe (idempotent) and close its clients."""
        if self._timelines is None:
            self._timelines = [probe.stop() for probe in self.probes]
            for session in self.sessions:
                session.close()
        return self._timelines

    def result(self) -> PhaseResult:
        """Stop the probes; one step result per ``during`` step, with its attempts and availability:
        passed when at least one attempt succeeded (the budget judges the whole timeline),
        failed when none did, or skipped with the reason."""
        timelines = self.stop()
        ran = [
            StepResult(
                path,
                title,
                Status.PASSED if any(a.ok for a in timeline.attempts) else Status.FAILED,
                timeline.attempts[-1].at if timeline.attempts else 0.0,
                _probe_detail(timeline),
            )
            for (path, title), timeline in zip(self.probe_steps, timelines, strict=True)
        ]
        steps = sorted([*ran, *self.skipped_steps], key=lambda s: _during_index(s.path))
        reason = self.reason
        if not reason and self.skipped_steps and not ran:
            reason = "; ".join(dict.fromkeys(s.message for s in self.skipped_steps))
        if reason:
            status = Status.SKIPPED
        elif any(s.status is Status.FAILED for s in ran):
            status = Status.FAILED
        else:
            status = Status.PASSED
        seconds = max((s.seconds for s in ran), default=0.0)
        return PhaseResult(self.scenario, "during", status, steps, seconds, reason=reason)


def _probe_detail(timeline: Timeline) -> str:
    attempts = len(timeline.attempts)
    return (
        f"{attempts} attempts, {timeline.availability():.0%} available, longest outage {timeline.longest_outage():.1f}s"
    )


def _during_index(path: str) -> int:
    """``during[3]`` -> 3."""
    return int(path.removeprefix("during[").split("]", 1)[0])


class ScenarioRunner:
    """Runs one scenario's phases on one cluster, for a set of tenants."""

    def __init__(
        self,
        scenario: Scenario,
        kubeconfig: Path,
        capabilities: Iterable[str] | ProviderCapabilities = (),
        tenants: Sequence[Tenant] | None = None,
        version: KubeVersion | None = None,
        provider_name: str = "unknown",
        params: Mapping[str, Any] | None = None,
        services: ServiceSet | None = None,
    ) -> None:
        """``version`` defaults to what the cluster reports; ``capabilities`` to none (every
        capability-gated step is then skipped, which is the safe reading of "unknown").
        ``services``: a set shared with other scenarios and owned by the caller; without one the
        runner starts the scenario's services itself and stops them on ``close``."""
        self.scenario = scenario
        self.kubeconfig = Path(kubeconfig)
        self.capabilities = frozenset(
            capabilities.names() if isinstance(capabilities, ProviderCapabilities) else capabilities
        )
        self.tenants = list(tenants) if tenants is not None else default_tenants()
        if not self.tenants:
            raise InputError(f"{scenario.name}: a scenario runs for at least one tenant")
        self.provider_name = provider_name
        self.params = _merge_params(scenario, params)
        self.field_manager = field_manager(scenario.name)
        self.scrubber = Scrubber()
        self._walker = StepWalker(scenario, self.tenants, self.lacks, self.scrubber)
        self._version = version
        self._session: ApiSession | None = None
        self._owns_services = services is None
        self.services = services if services is not None else ServiceSet()

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> ScenarioRunner:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._owns_services:
            self.services.stop()

    def _start_services(self) -> None:
        self.services.ensure(self.scenario.spec.services, self.kubeconfig)

    @property
    def session(self) -> ApiSession:
        if self._session is None:
            self._session = ApiSession(self.kubeconfig)
        return self._session

    @property
    def version(self) -> KubeVersion:
        if self._version is None:
            reported = str(server_version(self.session.admin_api).get("gitVersion", ""))
            version = leading_version(reported)
            if version is None:
                raise InputError(f"{self.kubeconfig}: the server reports version {reported!r}, not vX.Y.Z")
            self._version = version
        return self._version

    def missing(self, required: Iterable[str]) -> list[str]:
        return sorted(set(required) - self.capabilities)

    def lacks(self, required: Iterable[str]) -> str:
        """Why something needing ``required`` cannot run here ("" if it can)."""
        missing = self.missing(required)
        if not missing:
            return ""
        who = "the cluster" if self.provider_name == "unknown" else f"provider {self.provider_name}"
        return f"needs {', '.join(missing)}, which {who} does not have"

    # -- phases -------------------------------------------------------------------------

    def run_phase(self, phase: str, *, raise_on_failure: bool = True) -> PhaseResult:
        """Run ``setup``, ``verify`` or ``teardown`` (``during`` runs each probe's steps once).

        Returns the result when the phase passed or was skipped; raises ``StepFailed`` (with
        ``.result``) when a step failed, unless ``raise_on_failure`` is false.
        """
        if phase not in PHASES:
            raise InputError(f"unknown phase {phase!r}", hint=f"phases are {', '.join(PHASES)}")
        started = time.monotonic()
        lacking = self.lacks(self.scenario.spec.requires)
        if lacking:
            return PhaseResult(self.scenario.name, phase, Status.SKIPPED, reason=f"the scenario {lacking}")
        self._start_services()
        run = PhaseRun(phase, keep_going=phase == "teardown")
        env = self._env(self.session, phase, single_attempt=phase == "during")
        self._walker.run_steps(self.scenario.spec.phase(phase), (phase,), run, env)
        result = PhaseResult(
            self.scenario.name,
            phase,
            run.verdict(),
            run.results,
            time.monotonic() - started,
            failures=run.failures,
        )
        if result.status is Status.SKIPPED:
            result.reason = "; ".join(dict.fromkeys(s.message for s in run.results if s.message))
        if raise_on_failure:
            result.raise_for_status()
        return result

    def start_during(self) -> DuringHandle:
        """Start one probe thread per ``during`` step; ``handle.stop()`` returns the timelines.

        Each probe has its own API connections, so an apiserver restart shows as failed
        attempts in its timeline and never blocks the caller.
        """
        handle = DuringHandle(self.scenario.name)
        lacking = self.lacks(self.scenario.spec.requires)
        if lacking:
            handle.skipped.append(f"{self.scenario.name}: the scenario {lacking}")
            handle.reason = f"the scenario {lacking}"
            return handle
        _ = self.version  # read now: during the hop the apiserver may not answer
        self._start_services()
        for index, step in enumerate(self.scenario.spec.during):
            assert step.probe is not None  # load() allows only probes in during
            where: StepPath = ("during", index)
            lacking = self.lacks(step.requires)
            if lacking:
                handle.skipped.append(f"{self.scenario.name} during[{index}] {step.title}: {lacking}")
                handle.skipped_steps.append(StepResult(f"during[{index}]", step.title, Status.SKIPPED, 0.0, lacking))
                continue
            session = ApiSession(self.kubeconfig, fail_fast=True)
            handle.sessions.append(session)
            check = self._probe_check(step, where, session)
            name = f"{self.scenario.name}: {step.title}"
            handle.probes.append(Probe(name, check, interval=step.probe.interval, target=step.probe.target).start())
            handle.probe_steps.append((f"during[{index}]", step.title))
        return handle

    def manifests(self) -> list[dict[str, Any]]:
        """The objects ``setup`` and ``verify`` apply, rendered for every tenant (no cluster needed)."""
        return preview(
            self.scenario,
            tenants=self.tenants,
            version=self.version,
            provider=self.provider_name,
            capabilities=self.capabilities,
            params=self.params,
            phases=("setup", "verify"),
        ).manifests

    # -- steps --------------------------------------------------------------------------

    def _env(self, session: ApiSession, phase: str, *, single_attempt: bool = False) -> StepEnv:
        context = base_context(
            tenants=self.tenants,
            version=self.version,
            provider=self.provider_name,
            capabilities=self.capabilities,
            params=self.params,
        )
        return StepEnv(
            scenario=self.scenario,
            phase=phase,
            kube=session.admin,
            admin=session.admin,
            variables=context,
            tenant=None,
            field_manager=self.field_manager,
            scrubber=self.scrubber,
            check_context=lambda env: self._check_context(session, env),
            identities=session.as_user,
            single_attempt=single_attempt,
        )

    def _check_context(self, session: ApiSession, env: StepEnv) -> CheckContext:
        return CheckContext(
            scenario=self.scenario.name,
            phase=env.phase,
            tenant=env.tenant,
            tenants=list(self.tenants),
            version=self.version,
            provider=self.provider_name,
            capabilities=self.capabilities,
            params=dict(self.params),
            admin=session.admin_api,
            variables=dict(env.variables),
            impersonate=session.impersonate_api,
            services=self.services.as_mapping(),
        )

    def _probe_check(self, step: Step, where: StepPath, session: ApiSession) -> Callable[[], None]:
        env = self._env(session, "during", single_attempt=True)

        def check() -> None:
            run = PhaseRun("during", keep_going=False)
            self._walker.run_step(step, where, run, env)
            if run.failures:
                first = run.failures[0]
                who = f" [{first.tenant}]" if first.tenant else ""
                # Timelines keep ~160 characters of an error: the place, then what was seen.
                raise RuntimeError(f"{first.path}{who}: {first.observed}")

        return check


def _merge_params(scenario: Scenario, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    params = scenario.default_params()
    for name, value in (overrides or {}).items():
        if name not in params:
            known = ", ".join(sorted(params)) or "none"
            raise InputError(f"scenario {scenario.name}: unknown parameter {name!r}", hint=f"parameters: {known}")
        params[name] = value
    return params
