"""Secret values: never shown, only compared.

Three parts of the harness hold Secrets and must not leak their values: the object-drift
detector (whose snapshots become report evidence and artifacts), scenario messages (objects
shown when an assertion fails) and the workload export (manifests attached to tickets). All
three replace each value of a Secret's ``data`` and ``stringData`` through ``hide_values``,
and differ only in what they put in its place:

* ``fingerprint``: a keyed HMAC-SHA256 of the value, for the drift detector. The key is made
  from ``os.urandom`` when the process starts and is never written anywhere, so two snapshots
  taken in one run compare equal exactly when the values are equal (a changed password shows
  as changed), while nothing in a report lets anyone test a guess: an unkeyed digest of a short
  password is reversed by hashing candidates until one matches; without the key there is
  nothing to match against. Fingerprints from different processes never compare equal.
* ``REDACTED``, in scenario messages.
* a placeholder naming namespace, Secret and key, in exports (``harness.workloads.clean``).

``secret_values`` lists the values themselves, for the scenario scrubber that removes them
from free text.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeGuard

#: What scenario messages show instead of a value.
REDACTED = "<redacted>"
#: The prefix of a fingerprint; what follows is hex, meaningful only within this process.
FINGERPRINT_PREFIX = "hmac-sha256:"
#: Fields of a Secret that hold values.
VALUE_FIELDS = ("data", "stringData")

#: Lives in this process's memory only: never logged, written to a file or put in the environment.
_KEY = os.urandom(32)


@dataclass(frozen=True)
class SecretValue:
    """One value of a Secret, with where it sits (for placeholders that name it)."""

    namespace: str
    name: str
    #: ``data`` (base64, as the API returns it) or ``stringData`` (plain text, as written).
    field: str
    key: str
    value: str


#: What goes in a value's place.
Conceal = Callable[[SecretValue], str]


def fingerprint(value: str) -> str:
    """A keyed HMAC of ``value``: equal for equal values within this process, useless outside it."""
    digest = hmac.new(_KEY, value.encode(), hashlib.sha256).hexdigest()
    return f"{FINGERPRINT_PREFIX}{digest[:32]}"


def conceal_by_fingerprint(value: SecretValue) -> str:
    """For snapshots that are compared: changed values show as changed, and nothing else shows."""
    return fingerprint(value.value)


def conceal_by_redacting(value: SecretValue) -> str:
    """For messages: every value the same ``<redacted>``."""
    return REDACTED


def is_secret(obj: object) -> TypeGuard[dict[str, Any]]:
    """Whether ``obj`` is a Secret as JSON."""
    return isinstance(obj, dict) and obj.get("kind") == "Secret"


def secret_values(secret: dict[str, Any]) -> Iterator[SecretValue]:
    """Every value of ``secret`` (a Secret as JSON), ``data`` first, then ``stringData``."""
    meta = secret.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    for field in VALUE_FIELDS:
        values = secret.get(field)
        if isinstance(values, dict):
            for key, value in values.items():
                yield SecretValue(namespace, name, field, str(key), str(value))


def hide_values(obj: Any, conceal: Conceal, *, as_string_data: bool = False) -> Any:
    """A copy of ``obj`` with every Secret value (also of Secrets in lists and ``items``) concealed.

    Other objects come back with the same contents (as shallow copies). Keys are kept, so the
    shape of a configuration stays visible. ``as_string_data`` moves every key into
    ``stringData`` (sorted, ``data`` dropped): for replacements that are plain text, which
    ``data`` (base64) cannot hold in a manifest that is applied again.
    """
    if isinstance(obj, list):
        return [hide_values(item, conceal, as_string_data=as_string_data) for item in obj]
    if not isinstance(obj, dict):
        return obj
    out = {k: hide_values(v, conceal, as_string_data=as_string_data) if k == "items" else v for k, v in obj.items()}
    if not is_secret(obj):
        return out
    if as_string_data:
        hidden = {v.key: conceal(v) for v in secret_values(obj)}
        out.pop("data", None)
        out["stringData"] = {key: hidden[key] for key in sorted(hidden)}
        return out
    for field in VALUE_FIELDS:
        if isinstance(out.get(field), dict):
            out[field] = {v.key: conceal(v) for v in secret_values(obj) if v.field == field}
    return out


#: Values shorter than this are not scrubbed from text: "a" or "on" would mangle every message.
MIN_SCRUB_LENGTH = 4


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
