"""Allow-list: accepted findings become info until they expire; bad files name file, line, field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from harness.allowlist import load_allowlist
from harness.errors import InputError
from harness.findings import Finding, Severity, has_breaking

FINDING = Finding("removed-api", Severity.BREAKING, "v1.36.3>v1.37.2", "flowcontrol.apiserver.k8s.io/v1beta3", "gone")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "allow.yaml"
    path.write_text(text)
    return path


def test_matching_entry_downgrades_to_info(tmp_path: Path) -> None:
    allow = load_allowlist(
        write(
            tmp_path,
            (
                "entries:\n  - kind: removed-api\n    subject: 'flowcontrol.apiserver.k8s.io/*'\n"
                "    reason: no tenant uses it (OPS-1)\n    expires: 2099-01-01\n"
            ),
        )
    )
    [out] = allow.apply([FINDING], today=dt.date(2026, 11, 24))
    assert out.severity is Severity.INFO and "OPS-1" in out.detail
    assert out.evidence["allowed_severity"] == "breaking"
    assert not has_breaking([out])


def test_expired_entry_no_longer_applies(tmp_path: Path) -> None:
    allow = load_allowlist(
        write(
            tmp_path,
            (
                "entries:\n  - kind: removed-api\n    subject: '*'\n"
                "    reason: temporary waiver\n    expires: 2026-01-01\n"
            ),
        )
    )
    [out] = allow.apply([FINDING], today=dt.date(2026, 11, 24))
    assert out.severity is Severity.BREAKING and "expired" in out.evidence["allowlist"]


def test_other_kinds_and_hops_do_not_match(tmp_path: Path) -> None:
    allow = load_allowlist(
        write(
            tmp_path,
            (
                "entries:\n  - kind: rbac-change\n    subject: '*'\n"
                "    reason: accepted change\n    expires: 2099-01-01\n"
                "  - kind: removed-api\n    subject: '*'\n    hop: 'v1.35*'\n    reason: older hop only\n"
                "    expires: 2099-01-01\n"
            ),
        )
    )
    assert allow.apply([FINDING]) == [FINDING]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("entries:\n  - kind: removed-api\n    subject: x\n    reason: because\n", "allow.yaml:2: entries[0].expires"),
        (
            "entries:\n  - kind: nope\n    subject: x\n    reason: because\n    expires: 2099-01-01\n",
            "allow.yaml:2: entries[0].kind",
        ),
        (
            "entries:\n  - kind: removed-api\n    subject: x\n    reason: because\n    expires: soon\n",
            "allow.yaml:5: entries[0].expires",
        ),
        ("entries:\n  - kind: removed-api\n    subjet: x\n", "allow.yaml:3: entries[0].subjet: unknown field"),
    ],
)
def test_bad_allowlists_are_located(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(InputError) as caught:
        load_allowlist(write(tmp_path, text))
    assert where in str(caught.value)
