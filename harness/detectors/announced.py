"""When a warning says the thing it warns about stops working, and what that means for a hop.

The apiserver's warnings name releases in a few set phrasings (from the Kubernetes source):

- deprecated APIs: ``apps/v1beta1 Deployment is deprecated in v1.9+, unavailable in v1.16+;
  use apps/v1 Deployment`` (a CRD's ``deprecationWarning`` is free text, often the same shape);
- pod fields and annotations: ``non-functional in v1.27+; use the "seccompProfile" field
  instead``, ``deprecated in v1.11, non-functional in v1.16+``, ``deprecated in v1.11, and
  disabled by default in v1.33+``;
- values: ``... will be considered invalid in a future release`` (no release named);
- plain deprecations: ``deprecated since v1.30``, ``is deprecated in v1.33+`` (no end named).

``stop_release`` finds the earliest release a text says the thing stops working in (is
unavailable, non-functional, disabled, removed, rejected, invalid ...). A deprecation alone is
not a stop. ``judge`` places that release against the hop: breaking when it falls after the
source and at or before the target, a warning that says so otherwise.
"""

from __future__ import annotations

import re

from harness.findings import Severity
from harness.versions import KubeVersion

_STOP = (
    r"unavailable|non-?functional|not functional|disabled(?: by default)?|removed|dropped|rejected|refused"
    r"|invalid|unsupported|not supported|not allowed|not served|ignored|stops? working|stop functioning"
    r"|no longer (?:be )?(?:served|supported|functional|available|allowed|accepted|honou?red|work(?:s|ing)?)"
)
_PREPOSITION = r"in|since|from|as of|starting (?:in|with|from)|beginning (?:in|with)|with|by|at|after"
_RELEASE = re.compile(
    rf"\b(?P<stop>{_STOP})\s+(?:(?P<prep>{_PREPOSITION})\s+)?(?:Kubernetes\s+)?"
    r"v?(?P<major>\d+)\.(?P<minor>\d+)(?:\.\d+)?\+?(?!\w|\.\d)",
    re.IGNORECASE,
)


def stop_release(text: str) -> KubeVersion | None:
    """The earliest release ``text`` says the thing stops working in (``v1.16``), or None."""
    found: list[KubeVersion] = []
    for match in _RELEASE.finditer(text):
        major, minor = int(match["major"]), int(match["minor"])
        if major != 1:
            continue
        if (match["prep"] or "").lower() == "after":
            minor += 1  # "removed after v1.37": v1.38 no longer has it
        found.append(KubeVersion(1, minor, -1))
    return min(found) if found else None


def judge(stops: KubeVersion | None, source: KubeVersion, target: KubeVersion) -> tuple[Severity, str]:
    """The severity of a warning that names ``stops`` (or nothing) on a hop ``source`` to ``target``,
    and a clause saying why."""
    if stops is None:
        return Severity.WARNING, "it names no release in which this stops working"
    at = (stops.major, stops.minor)
    if at <= (source.major, source.minor):
        return Severity.WARNING, f"it already stopped working in {stops}, at or before the source {source}"
    if at <= (target.major, target.minor):
        return (
            Severity.BREAKING,
            f"it stops working in {stops}: after the source {source}, at or before this hop's target {target}",
        )
    return Severity.WARNING, f"it stops working in {stops}, after this hop's target {target}"
