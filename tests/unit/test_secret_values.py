"""One way of hiding Secret values: drift evidence, scenario messages and exports.

Reports show a Secret value only as changed or unchanged: the fingerprint is a keyed HMAC
whose key never leaves the process, so nothing in a report can be checked against guesses.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import subprocess
import sys
from typing import Any

from harness.detectors import drift
from harness.kube.secret_values import REDACTED, fingerprint
from harness.scenarios.redact import redact
from harness.workloads.clean import clean

HOP = "v1.36.3>v1.37.2"
PASSWORD = "hunter2"  # short: exactly what an unkeyed digest gives away


def _secret(password: str, token: str = "plain-token-value", uid: str = "1") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "tenant-alpha", "uid": uid},
        "data": {"password": base64.b64encode(password.encode()).decode()},
        "stringData": {"token": token},
    }


def _plain_digests(value: str) -> set[str]:
    """What an unkeyed digest of a value (or of its base64 form) looks like, whole and cut short."""
    found = set()
    for form in (value, base64.b64encode(value.encode()).decode()):
        for algorithm in ("md5", "sha1", "sha256", "sha512"):
            digest = hashlib.new(algorithm, form.encode()).hexdigest()
            found |= {digest, digest[:16], digest[:12], digest[:8]}
    return found


def _leaks(text: str, *values: str) -> list[str]:
    leaked = []
    for value in values:
        encoded = base64.b64encode(value.encode()).decode()
        leaked += [v for v in (value, encoded) if v in text]
        leaked += [d for d in _plain_digests(value) if d in text]
    return leaked


def test_the_same_value_in_two_snapshots_compares_equal() -> None:
    before = {"tenant-alpha/v1/Secret/db": drift.normalise(_secret(PASSWORD))}
    after = {"tenant-alpha/v1/Secret/db": drift.normalise(_secret(PASSWORD))}
    assert before == after
    assert drift.compare(before, after, HOP) == []


def test_a_changed_value_shows_as_changed_and_nothing_more() -> None:
    before = {"tenant-alpha/v1/Secret/db": drift.normalise(_secret(PASSWORD))}
    after = {"tenant-alpha/v1/Secret/db": drift.normalise(_secret("correct horse"))}
    (finding,) = drift.compare(before, after, HOP)
    assert "values_changed" in finding.detail
    report = json.dumps({"detail": finding.detail, "evidence": finding.evidence, "snapshots": [before, after]})
    assert "password" in report, "the key that changed is named"
    assert _leaks(report, PASSWORD, "correct horse", "plain-token-value") == []


def test_fingerprints_mean_nothing_outside_their_process() -> None:
    assert fingerprint(PASSWORD) == fingerprint(PASSWORD) != fingerprint(PASSWORD + "!")
    other = subprocess.run(
        [sys.executable, "-c", f"from harness.kube.secret_values import fingerprint; print(fingerprint({PASSWORD!r}))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert other.startswith("hmac-sha256:") and other != fingerprint(PASSWORD)
    assert _leaks(fingerprint(PASSWORD), PASSWORD) == []


def test_redaction_keeps_its_format() -> None:
    secret = _secret(PASSWORD)
    listing = {"kind": "SecretList", "items": [secret, {"kind": "ConfigMap", "data": {"a": "b"}}]}
    assert redact(secret)["data"] == {"password": REDACTED}
    assert redact(secret)["stringData"] == {"token": REDACTED}
    assert redact(listing)["items"][1]["data"] == {"a": "b"}
    assert secret == _secret(PASSWORD), "the object itself is left as it was"


def test_export_keeps_its_placeholders() -> None:
    secret = _secret(PASSWORD)
    secret["data"]["extra"] = "eA=="
    original = copy.deepcopy(secret)
    exported = clean(secret)
    assert "data" not in exported
    assert exported["stringData"] == {
        "extra": "REPLACE-ME:tenant-alpha/db/extra",
        "password": "REPLACE-ME:tenant-alpha/db/password",
        "token": "REPLACE-ME:tenant-alpha/db/token",
    }
    assert secret == original
    empty = clean({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "e"}})
    assert empty["stringData"] == {}
