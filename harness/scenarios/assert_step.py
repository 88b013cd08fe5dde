"""The ``assert`` step: an object's fields and conditions reach the expected values.

Values are compared on the object as read; what a message shows of it is redacted first,
so a Secret's value never reaches a failure message.
"""

from __future__ import annotations

from typing import Any

from harness.errors import InputError
from harness.scenarios.denials import describe, not_yet
from harness.scenarios.fields import condition_status, lookup, matches, show
from harness.scenarios.leaf_steps import AssertStep
from harness.scenarios.load import StepPath
from harness.scenarios.redact import redact
from harness.scenarios.rest import ApiError, Kube, Resource
from harness.scenarios.results import StepMismatch
from harness.scenarios.step_env import StepEnv, Target, label, step_target


def run_assert(step: AssertStep, env: StepEnv, where: StepPath) -> str:
    base = (*where, "assert")
    target = step_target(step, env, base)
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
            raise StepMismatch(expected, f"reading it was refused: {describe(exc)}") from None
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


def _read(kube: Kube, resource: Resource, target: Target) -> list[dict[str, Any]]:
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
    target: Target,
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
