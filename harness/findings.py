"""Findings: what a detector saw change across a hop, with the evidence.

A finding is data, not an exception: detectors return lists of them, the allow-list filters
them, reports group them, and a cell fails when any ``breaking`` one remains.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Severity(enum.StrEnum):
    BREAKING = "breaking"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    kind: str  # removed-api, object-drift, rbac-change, disruption, ...
    severity: Severity
    hop: str  # "v1.36.3>v1.37.2"
    subject: str  # what changed: "batch/v1beta1 cronjobs", "tenant-alpha/ConfigMap/settings"
    detail: str  # one sentence a person can act on
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["severity"] = self.severity.value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        """The finding ``to_json`` wrote (reports cross pytest-xdist's wire as plain data)."""
        return cls(
            data["kind"],
            Severity(data["severity"]),
            data["hop"],
            data["subject"],
            data["detail"],
            dict(data.get("evidence", {})),
        )

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity for de-duplication and allow-listing: kind, hop, subject."""
        return (self.kind, self.hop, self.subject)


def most_severe_per_subject(findings: list[Finding]) -> list[Finding]:
    """One finding per (kind, hop, subject), the most severe kept, in a stable order."""
    rank = {Severity.BREAKING: 0, Severity.WARNING: 1, Severity.INFO: 2}
    best: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        current = best.get(finding.key)
        if current is None or rank[finding.severity] < rank[current.severity]:
            best[finding.key] = finding
    return sorted(best.values(), key=lambda f: (rank[f.severity], f.kind, f.hop, f.subject))


def has_breaking(findings: list[Finding]) -> bool:
    return any(f.severity is Severity.BREAKING for f in findings)
