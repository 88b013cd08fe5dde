"""The leaf step actions: apply, assert, expect_denied, check, delete.

Each action renders its values for the current tenant, talks to the API as the current
identity, and either returns a short description of what it saw or raises ``StepFailure``
with what it expected and what it observed. Waiting is always bounded (``wait_until``): an
answer that means "not yet" (a CRD not served yet, a Deployment still rolling out) is retried
until the step's timeout; an answer that is a decision (403, 422) fails at once. Inside a
probe every action makes a single attempt, since the probe itself repeats.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from harness.errors import HarnessError, InputError, WaitTimeout
from harness.kube.waits import wait_until
from harness.scenarios.context import CheckContext
from harness.scenarios.denials import classify, describe, not_yet
from harness.scenarios.fields import condition_status, lookup, matches, show
from harness.scenarios.load import Scenario, StepPath
from harness.scenarios.model import ApplyStep, AssertStep, CheckStep, DeleteStep, ExpectDeniedStep
from harness.scenarios.redact import Scrubber, redact
from harness.scenarios.render import manifest_problem
from harness.scenarios.rest import ApiError, KindNotServed, Kube, Resource
from harness.scenarios.results import StepFailure
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
        """Run ``attempt`` until it reports done; ``StepFailure`` with the last observation if never."""
        last = ["not checked yet"]

        def guarded() -> tuple[bool, str]:
            try:
                done, detail = attempt()
            except HarnessError:
                raise  # a decision (StepFailure) or a scenario bug (InputError): stop now
            except Exception as exc:  # an unexpected answer: keep it as the observation
                done, detail = False, f"{type(exc).__name__}: {exc}"
            last[0] = self.scrubber.scrub(detail)
            return done, last[0]

        if self.single_attempt or timeout <= 0:
            done, detail = guarded()
            if not done:
                raise StepFailure(expected, detail)
            return detail
        try:
            return wait_until(what, guarded, timeout=timeout, interval=0.2, max_interval=1.0)
        except WaitTimeout:
            raise StepFailure(expected, f"still not so after {timeout:g}s: {last[0]}") from None


def label(manifest: dict[str, Any]) -> str:
    """``ConfigMap tenant-alpha/settings``: how messages name an object."""
    metadata = manifest.get("metadata") or {}
    namespace = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{manifest.get('kind')} {namespace}{metadata.get('name')}"


# -- apply --------------------------------------------------------------------------------


def run_apply(step: ApplyStep, env: StepEnv, where: StepPath) -> str:
    documents = env.documents(step.template, step.manifest, step.vars, (*where, "apply"))
    manager = env.text(step.field_manager, (*where, "apply", "field_manager")) or env.field_manager
    deadline = time.monotonic() + step.timeout
    for document in documents:
        name = label(document)

        def attempt(document: dict[str, Any] = document, name: str = name) -> tuple[bool, str]:
            try:
                env.kube.apply(document, manager, dry_run=step.dry_run)
            except ApiError as exc:
                if not_yet(exc):
                    return False, f"{name}: {describe(exc)}"
                raise StepFailure(f"{name} is applied", f"the server refused it: {describe(exc)}") from None
            return True, f"{'admitted (dry run)' if step.dry_run else 'applied'} {name}"

        env.retry(f"apply {name}", attempt, max(0.0, deadline - time.monotonic()), f"{name} is applied")
    return f"applied {len(documents)} object(s): {', '.join(label(d) for d in documents)}"


# -- assert -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    api_version: str | None
    kind: str
    name: str | None
    namespace: str | None
    label_selector: str | None

    def describe(self) -> str:
        kind = f"{self.kind} ({self.api_version})" if self.api_version else self.kind
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{kind} {where}{self.name or f'[{self.label_selector}]'}"


def _target(step: AssertStep | ExpectDeniedStep | DeleteStep, env: StepEnv, where: StepPath) -> _Target:
    selector = getattr(step, "label_selector", None)
    return _Target(
        env.text(step.api_version, (*where, "apiVersion")),
        env.text(step.kind, (*where, "kind")) or "",
        env.text(step.name, (*where, "name")),
        env.text(step.namespace, (*where, "namespace")),
        env.text(selector, (*where, "label_selector")),
    )


def run_assert(step: AssertStep, env: StepEnv, where: StepPath) -> str:
    base = (*where, "assert")
    target = _target(step, env, base)
    fields: dict[str, Any] = env.render(step.fields, (*base, "fields"))
    conditions = {str(k): str(v) for k, v in env.render(step.conditions, (*base, "conditions")).items()}
    exists = [str(p) for p in env.render(step.exists, (*base, "exists"))]
    absent = [str(p) for p in env.render(step.absent, (*base, "absent"))]
    min_count = env.render(step.min_count, (*base, "min_count"))
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise InputError(f"{env.scenario.locate((*base, 'min_count'))}: {min_count!r} is not a count >= 1")
    expected = _expectation(target, fields, conditions, exists, absent, step.present, min_count)

    def problems(obj: dict[str, Any]) -> list[str]:
        shown = redact(obj)
        found: list[str] = []
        for path, want in fields.items():
            ok, value = lookup(obj, path)
            if not ok:
                found.append(f"{path}: expected {show(want)}, missing")
            elif not matches(want, value):
                found.append(f"{path}: expected {show(want)}, observed {show(lookup(shown, path)[1])}")
        for condition, want in conditions.items():
            got = condition_status(obj, condition)
            if got != want:
                why = _why(obj, condition)
                found.append(f"condition {condition}: expected {want}, observed {got or 'absent'}{why}")
        found += [f"{path}: expected to be set, missing" for path in exists if not lookup(obj, path)[0]]
        found += [
            f"{path}: expected to be absent, observed {show(lookup(shown, path)[1])}"
            for path in absent
            if lookup(obj, path)[0]
        ]
        return found

    def attempt() -> tuple[bool, str]:
        try:
            resource = env.kube.resource(target.api_version, target.kind)
            objects = _read(env.kube, resource, target)
        except ApiError as exc:
            if not_yet(exc):
                return False, describe(exc)
            raise StepFailure(expected, f"reading it was refused: {describe(exc)}") from None
        if not step.present:
            return not objects, "gone" if not objects else f"{target.describe()} still exists"
        if not objects:
            return (
                False,
                f"{target.describe()} not found"
                if target.name
                else f"no {target.kind} matches {target.label_selector!r}",
            )
        checked = [(o, problems(o)) for o in objects]
        good = [o for o, p in checked if not p]
        if target.name:
            issues = checked[0][1]
            return not issues, "; ".join(issues) or "as expected"
        detail = f"{len(good)} of {len(objects)} {target.kind} object(s) match (need {min_count})"
        first_bad = next((f"{label(o)}: {'; '.join(p)}" for o, p in checked if p), "")
        return len(good) >= min_count, f"{detail}{'; ' + first_bad if first_bad else ''}"

    return env.retry(f"assert {target.describe()}", attempt, step.timeout, expected)


def _read(kube: Kube, resource: Resource, target: _Target) -> list[dict[str, Any]]:
    namespace = target.namespace if resource.namespaced else None
    if target.name:
        obj = kube.get(resource, namespace, target.name)
        return [obj] if obj is not None else []
    return kube.list(resource, namespace, target.label_selector)


def _why(obj: dict[str, Any], condition: str) -> str:
    for item in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(item, dict) and item.get("type") == condition:
            reason, message = item.get("reason"), item.get("message")
            return f" (reason {reason}: {message})" if reason or message else ""
    return ""


def _expectation(
    target: _Target,
    fields: dict[str, Any],
    conditions: dict[str, str],
    exists: list[str],
    absent: list[str],
    present: bool,
    min_count: int,
) -> str:
    if not present:
        return f"{target.describe()} does not exist"
    wants = [f"{path} = {show(value)}" for path, value in fields.items()]
    wants += [f"condition {c}={s}" for c, s in conditions.items()]
    wants += [f"{p} set" for p in exists] + [f"{p} absent" for p in absent]
    subject = target.describe() if target.name else f"at least {min_count} {target.kind} [{target.label_selector}]"
    return f"{subject} exists" + (f" with {', '.join(wants)}" if wants else "")


# -- expect_denied ------------------------------------------------------------------------


def run_expect_denied(step: ExpectDeniedStep, env: StepEnv, where: StepPath) -> str:
    base = (*where, "expect_denied")
    message = env.text(step.message, (*base, "message"))
    wanted = f"refused ({step.reason}{f', with a message containing {message!r}' if message else ''})"
    if step.verb in ("create", "apply", "update", "patch"):
        documents = env.documents(step.template, step.manifest, step.vars, base)
        requests = [(f"{step.verb} {label(d)}", _writer(step, env, d)) for d in documents]
    else:
        target = _target(step, env, base)
        requests = [(f"{step.verb} {target.describe()}", _reader(step, env, target))]
    seen = []
    for what, send in requests:
        expected = f"{what} is {wanted}"

        settle_until = time.monotonic() + step.settle

        def attempt(
            send: Callable[[], str] = send, expected: str = expected, settle_until: float = settle_until
        ) -> tuple[bool, str]:
            try:
                allowed = send()
            except ApiError as exc:
                if not_yet(exc):
                    return False, describe(exc)
                got = classify(exc)
                if got != step.reason:
                    raise StepFailure(expected, f"refused for another reason ({got}): {describe(exc)}") from None
                if message and message not in exc.message:
                    raise StepFailure(expected, f"refused ({got}) but without {message!r}: {describe(exc)}") from None
                return True, f"refused ({got}): {exc.message}"
            if time.monotonic() < settle_until:
                # A dry run stored nothing, so asking again is free while a just-registered
                # policy or webhook takes effect.
                return False, f"the request was allowed: {allowed}"
            raise StepFailure(expected, f"the request was allowed: {allowed}")

        seen.append(env.retry(what, attempt, max(step.timeout, step.settle), expected))
    return "; ".join(seen)


def _writer(step: ExpectDeniedStep, env: StepEnv, document: dict[str, Any]) -> Callable[[], str]:
    """Send the write; if it is (wrongly) allowed, undo what can be undone and say so."""

    def send() -> str:
        existed = True
        if step.verb in ("create", "apply") and not step.dry_run:
            try:
                resource = env.admin.resource_of(document)
                meta = document.get("metadata") or {}
                existed = env.admin.get(resource, meta.get("namespace"), meta["name"]) is not None
            except ApiError:
                existed = True  # unknown: do not delete what may have been there
        call = {"create": env.kube.create, "update": env.kube.update, "patch": env.kube.patch}.get(step.verb)
        if call is not None:
            call(document, dry_run=step.dry_run)
        else:
            env.kube.apply(document, env.field_manager, dry_run=step.dry_run)
        if step.dry_run:
            return f"{label(document)} passed a dry run (nothing was stored)"
        if existed:
            return f"{label(document)} was written (it existed before, so it was left as it is now)"
        resource = env.admin.resource_of(document)
        meta = document.get("metadata") or {}
        try:
            env.admin.delete(resource, meta.get("namespace"), meta["name"])
            return f"{label(document)} was created (and has been deleted again)"
        except ApiError as exc:
            return f"{label(document)} was created, and could not be deleted again: {describe(exc)}"

    return send


def _reader(step: ExpectDeniedStep, env: StepEnv, target: _Target) -> Callable[[], str]:
    """get / list / delete; delete is always a dry run, so a wrongly allowed delete removes nothing."""

    def send() -> str:
        resource = env.kube.resource(target.api_version, target.kind)
        namespace = target.namespace if resource.namespaced else None
        if step.verb == "list":
            items = env.kube.list(resource, namespace)
            return f"listing returned {len(items)} object(s)"
        assert target.name is not None  # the model requires a name for get and delete
        if step.verb == "delete":
            existed = env.kube.delete(resource, namespace, target.name, dry_run=True)
            note = "" if existed else ", the object does not exist"
            return f"deleting {target.describe()} was allowed (dry run{note})"
        obj = env.kube.get(resource, namespace, target.name)
        return f"reading {target.describe()} {'returned it' if obj is not None else 'was allowed (not found)'}"

    return send


# -- check --------------------------------------------------------------------------------


def run_check(step: CheckStep, env: StepEnv, where: StepPath) -> str:
    function = env.scenario.checks[step.function]
    args: dict[str, Any] = env.render(step.args, (*where, "check", "args"))
    doc = (function.__doc__ or "").strip().splitlines()
    expected = doc[0].rstrip(".") if doc else f"{step.function} passes"

    def attempt() -> tuple[bool, str]:
        try:
            detail = function(env.kube.api, env.check_context(env), **args)
        except AssertionError as exc:
            return False, str(exc) or "the check failed without a message"
        return True, str(detail) if detail else "passed"

    return env.retry(f"check {step.function}", attempt, step.timeout, expected)


# -- delete -------------------------------------------------------------------------------


def run_delete(step: DeleteStep, env: StepEnv, where: StepPath) -> str:
    base = (*where, "delete")
    targets: list[tuple[str | None, str, str | None, str]] = []
    if step.template is not None or step.manifest is not None:
        for document in reversed(env.documents(step.template, step.manifest, step.vars, base)):
            meta = document.get("metadata") or {}
            targets.append((str(document["apiVersion"]), str(document["kind"]), meta.get("namespace"), meta["name"]))
    else:
        target = _target(step, env, base)
        assert target.name is not None  # the model requires a name with kind
        targets.append((target.api_version, target.kind, target.namespace, target.name))
    deadline = time.monotonic() + step.timeout
    deleted: list[tuple[Resource, str | None, str]] = []
    for api_version, kind, namespace, name in targets:
        shown = f"{kind} {namespace + '/' if namespace else ''}{name}"
        expected = f"{shown} is deleted"

        def attempt(
            api_version: str | None = api_version,
            kind: str = kind,
            namespace: str | None = namespace,
            name: str = name,
            shown: str = shown,
            expected: str = expected,
        ) -> tuple[bool, str]:
            try:
                resource = env.kube.resource(api_version, kind)
            except KindNotServed:
                if step.missing_ok:
                    return True, f"{shown}: kind no longer served"
                raise StepFailure(expected, f"the server does not serve {kind}") from None
            scope = namespace if resource.namespaced else None
            try:
                existed = env.kube.delete(resource, scope, name)
            except ApiError as exc:
                if not_yet(exc):
                    return False, describe(exc)
                raise StepFailure(expected, f"deleting was refused: {describe(exc)}") from None
            if not existed and not step.missing_ok:
                raise StepFailure(f"{shown} exists and is deleted", "it did not exist")
            deleted.append((resource, scope, name))
            return True, f"deleted {shown}" if existed else f"{shown} was already gone"

        env.retry(f"delete {shown}", attempt, max(0.0, deadline - time.monotonic()), expected)
    if step.wait and deleted:

        def gone() -> tuple[bool, str]:
            remaining = []
            for resource, scope, name in deleted:
                try:
                    if env.kube.get(resource, scope, name) is not None:
                        remaining.append(f"{resource.kind} {scope + '/' if scope else ''}{name}")
                except KindNotServed:
                    continue
            return not remaining, f"still present: {', '.join(remaining)}" if remaining else "all gone"

        env.retry("objects gone", gone, max(1.0, deadline - time.monotonic()), "every deleted object is gone")
    return f"deleted {len(targets)} object(s)"
