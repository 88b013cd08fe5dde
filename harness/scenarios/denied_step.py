"""The ``expect_denied`` step: a request the platform must refuse, for the stated reason.

A write is sent as the current identity; a wrongly allowed write is undone where it can be
(and the message says what was left). Reads and deletes name the object; a delete is always a
dry run, so a wrongly allowed one removes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.scenarios.denials import classify, describe, not_yet
from harness.scenarios.leaf_steps import ExpectDeniedStep
from harness.scenarios.load import StepPath
from harness.scenarios.rest import ApiError
from harness.scenarios.results import StepMismatch
from harness.scenarios.step_env import StepEnv, Target, label, step_target


def run_expect_denied(step: ExpectDeniedStep, env: StepEnv, where: StepPath) -> str:
    base = (*where, "expect_denied")
    message = env.text(step.message, (*base, "message"))
    wanted = f"refused ({step.reason}{f', with a message containing {message!r}' if message else ''})"
    if step.verb in ("create", "apply", "update", "patch"):
        documents = env.documents(step.template, step.manifest, step.vars, base)
        requests = [(f"{step.verb} {label(d)}", _writer(step, env, d)) for d in documents]
    else:
        target = step_target(step, env, base)
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
                    raise StepMismatch(expected, f"refused for another reason ({got}): {describe(exc)}") from None
                if message and message not in exc.message:
                    raise StepMismatch(expected, f"refused ({got}) but without {message!r}: {describe(exc)}") from None
                return True, f"refused ({got}): {exc.message}"
            if time.monotonic() < settle_until:
                # A dry run stored nothing, so asking again is free while a just-registered
                # policy or webhook takes effect.
                return False, f"the request was allowed: {allowed}"
            raise StepMismatch(expected, f"the request was allowed: {allowed}")

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


def _reader(step: ExpectDeniedStep, env: StepEnv, target: Target) -> Callable[[], str]:
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
