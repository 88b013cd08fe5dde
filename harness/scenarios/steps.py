"""The leaf step actions: apply, check and delete here, ``assert`` and ``expect_denied`` in their own modules.

Each action renders its values for the current tenant, talks to the API as the current
identity, and either returns a short description of what it saw or raises ``StepMismatch``
with what it expected and what it observed. Waiting is always bounded (``wait_until``): an
answer that means "not yet" (a CRD not served yet, a Deployment still rolling out) is retried
until the step's timeout; an answer that is a decision (403, 422) fails at once. Inside a
probe every action makes a single attempt, since the probe itself repeats.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.kube.api_warnings import object_label, on_behalf_of
from harness.scenarios.assert_step import run_assert
from harness.scenarios.denials import describe, not_yet
from harness.scenarios.denied_step import run_expect_denied
from harness.scenarios.leaf_steps import ApplyStep, CheckStep, DeleteStep
from harness.scenarios.load import StepPath
from harness.scenarios.rest import ApiError, KindNotServed, Resource
from harness.scenarios.results import StepMismatch
from harness.scenarios.step_env import StepEnv, label, step_target

# -- apply --------------------------------------------------------------------------------


def run_apply(step: ApplyStep, env: StepEnv, where: StepPath) -> str:
    """Apply each document on its own behalf (``harness.kube.api_warnings``): the apiserver's
    warnings about it are recorded with its template file and document number, and told."""
    documents = env.documents(step.template, step.manifest, step.vars, (*where, "apply"))
    manager = env.text(step.field_manager, (*where, "apply", "field_manager")) or env.field_manager
    deadline = time.monotonic() + step.timeout
    if step.template is not None:
        manifest = str(env.scenario.directory / step.template)
    else:
        manifest = env.scenario.locate((*where, "apply", "manifest"))
    warned: list[str] = []
    for number, document in enumerate(documents, start=1):
        name = label(document)

        def attempt(document: dict[str, Any] = document, name: str = name) -> tuple[bool, str]:
            try:
                env.kube.apply(document, manager, dry_run=step.dry_run, subresource=step.subresource)
            except ApiError as exc:
                if not_yet(exc):
                    return False, f"{name}: {describe(exc)}"
                raise StepMismatch(f"{name} is applied", f"the server refused it: {describe(exc)}") from None
            return True, f"{'admitted (dry run)' if step.dry_run else 'applied'} {name}"

        with on_behalf_of(
            object_label=object_label(document), manifest=manifest, document=number, scrub=env.scrubber.scrub
        ) as heard:
            env.retry(f"apply {name}", attempt, max(0.0, deadline - time.monotonic()), f"{name} is applied")
        warned.extend(env.scrubber.scrub(f"{name}: {text}") for text in heard)
    applied = f"applied {len(documents)} object(s): {', '.join(label(d) for d in documents)}"
    return applied + "".join(f"; the server warned: {w}" for w in warned)


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
        target = step_target(step, env, base)
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
                raise StepMismatch(expected, f"the server does not serve {kind}") from None
            scope = namespace if resource.namespaced else None
            try:
                existed = env.kube.delete(resource, scope, name)
            except ApiError as exc:
                if not_yet(exc):
                    return False, describe(exc)
                raise StepMismatch(expected, f"deleting was refused: {describe(exc)}") from None
            if not existed and not step.missing_ok:
                raise StepMismatch(f"{shown} exists and is deleted", "it did not exist")
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


#: Each leaf step type's action: ``action(step, env, where)`` returns what it saw or raises ``StepMismatch``.
LEAVES: dict[str, Callable[[Any, StepEnv, StepPath], str]] = {
    "apply": run_apply,
    "assert": run_assert,
    "expect_denied": run_expect_denied,
    "check": run_check,
    "delete": run_delete,
}
