"""Keeping Secret values out of results, messages and logs.

Scenarios create Secrets (registry credentials, service tokens) and their values must never
reach a report, a CI log or an artifact. Objects shown in messages are redacted structurally
(``data`` and ``stringData`` values become ``<redacted>``, through the harness's one way of
hiding Secret values, ``harness.kube.secret_values``); free text (a server message that
echoes a value, an exception from a check) is scrubbed of every Secret value the runner has
applied, in plain and base64 form.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import threading
from typing import Any

from harness.kube.secret_values import REDACTED, conceal_by_redacting, hide_values, is_secret, secret_values

__all__ = ["MIN_SCRUB_LENGTH", "REDACTED", "Scrubber", "redact"]

#: Values shorter than this are not scrubbed from text: "a" or "on" would mangle every message.
MIN_SCRUB_LENGTH = 4


def redact(obj: Any) -> Any:
    """A copy of ``obj`` with the values of every Secret (also inside lists) replaced."""
    return hide_values(obj, conceal_by_redacting)


class Scrubber:
    """Remembers Secret values the runner handled and removes them from any text."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def learn(self, obj: Any) -> None:
        """Note the values of ``obj`` if it is a Secret (or a list of objects)."""
        if isinstance(obj, list):
            for item in obj:
                self.learn(item)
            return
        if not is_secret(obj):
            return
        found: set[str] = set()
        for secret in secret_values(obj):
            found.add(secret.value)
            if secret.field == "data":
                with contextlib.suppress(binascii.Error, UnicodeDecodeError, ValueError):
                    found.add(base64.b64decode(secret.value, validate=True).decode())
            else:
                found.add(base64.b64encode(secret.value.encode()).decode())
        with self._lock:
            self._values.update(v for v in found if len(v) >= MIN_SCRUB_LENGTH)

    def scrub(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            text = text.replace(value, REDACTED)
        return text
