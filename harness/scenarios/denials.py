"""Why the API server refused a request, in the four words ``expect_denied`` uses.

Most refusals arrive as HTTP 403 whoever refused (RBAC, PodSecurity, LimitRanger, quota,
namespace lifecycle), so the status alone cannot tell a quota from a missing RoleBinding. The
server's message can: each source phrases it in a fixed way. A check that a request is
"denied" without the reason would pass for the wrong reason (a typo in the manifest is
denied too), hence every ``expect_denied`` states one.
"""

from __future__ import annotations

import re

from harness.scenarios.rest import ApiError, KindNotServed

#: RBAC authorisation and RBAC escalation prevention.
_RBAC = re.compile(
    r'is forbidden: [Uu]ser "[^"]*"( \(groups=\[[^\]]*\]\))? '
    r"(cannot |is attempting to grant RBAC permissions not currently held)"
)
_QUOTA = ("exceeded quota", "failed quota")
#: Phrases of admission controllers, which may answer with statuses other than 403.
_ADMISSION = (
    "violates PodSecurity",
    "admission webhook",
    "ValidatingAdmissionPolicy",
    "denied request",
    "usage per Container",
    "usage per Pod",
    "usage per PersistentVolumeClaim",
)
#: Answers that mean "ask again shortly", not a decision about the request.
_NOT_YET = (
    "error looking up service account",  # a new namespace's default ServiceAccount is not there yet
    "not yet ready to handle request",
    "the server could not find the requested resource",  # a CRD's handler not installed yet
    "the object has been modified",
)
_RETRY_STATUSES = frozenset({0, 409, 429, 500, 502, 503, 504})


def classify(error: ApiError) -> str:
    """``forbidden``, ``admission``, ``quota``, ``invalid``, or ``other (<status> <reason>)``."""
    message = error.message
    if any(p in message for p in _ADMISSION):
        return "admission"
    if error.status == 403:
        if any(p in message for p in _QUOTA):
            return "quota"
        if _RBAC.search(message):
            return "forbidden"
        return "admission"  # PodSecurity-like plugins, namespace lifecycle, LimitRanger, ...
    if error.status == 422:
        return "invalid"
    return f"other ({error.status} {error.reason or 'error'})"


def not_yet(error: ApiError) -> bool:
    """True when the answer says nothing about the request itself and retrying may succeed."""
    if isinstance(error, KindNotServed):
        return True
    if any(p in error.message for p in _NOT_YET):
        return True
    return error.status in _RETRY_STATUSES and error.reason != "AlreadyExists"


def describe(error: ApiError) -> str:
    """``403 Forbidden: <message>`` for messages, or the connection error."""
    if error.status == 0:
        return f"no answer ({error.reason}: {error.message})"
    return f"{error.status} {error.reason}: {error.message}".strip()
