"""Keeping Secret values out of results, messages and logs.

Scenarios create Secrets (registry credentials, service tokens) and their values must never
reach a report, a CI log or an artifact. Objects shown in messages are redacted structurally
(``data`` and ``stringData`` values become ``<redacted>``, through the harness's one way of
hiding Secret values, ``harness.kube.secret_values``); free text (a server message that
echoes a value, an exception from a check) is scrubbed of every Secret value the runner has
applied, in plain and base64 form.
"""

from __future__ import annotations

from typing import Any

from harness.kube.secret_values import MIN_SCRUB_LENGTH, REDACTED, Scrubber, conceal_by_redacting, hide_values

__all__ = ["MIN_SCRUB_LENGTH", "REDACTED", "Scrubber", "redact"]


def redact(obj: Any) -> Any:
    """A copy of ``obj`` with the values of every Secret (also inside lists) replaced."""
    return hide_values(obj, conceal_by_redacting)
