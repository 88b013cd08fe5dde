"""The allow-list: findings a team has looked at and accepted, each with a reason and an expiry.

    entries:
      - kind: removed-api                      # a detector's finding kind
        subject: "flowcontrol.apiserver.k8s.io/v1beta3"   # glob over the finding's subject
        hop: "*"                               # glob over the hop, optional
        reason: "no tenant uses it; checked in OPS-1234"
        expires: 2027-03-01                    # required: acceptance is never forever

A matching entry turns the finding into ``info`` (its detail says why), so it no longer fails
the cell. An expired entry no longer applies, and its finding says so.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import replace
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from harness.config import load_yaml, parse_model
from harness.detectors.registry import KINDS
from harness.findings import Finding, Severity


class AllowEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(pattern="^(" + "|".join(KINDS) + ")$")
    subject: str = Field(min_length=1)
    hop: str = "*"
    reason: str = Field(min_length=5)
    expires: dt.date


class AllowList(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    entries: list[AllowEntry] = Field(default_factory=list)

    def apply(self, findings: list[Finding], today: dt.date | None = None) -> list[Finding]:
        today = today or dt.date.today()
        out = []
        for finding in findings:
            entry = self.match(finding)
            if entry is None or finding.severity is Severity.INFO:
                out.append(finding)
            elif entry.expires < today:
                evidence = dict(finding.evidence, allowlist=f"entry expired on {entry.expires}: {entry.reason}")
                out.append(replace(finding, evidence=evidence))
            else:
                out.append(
                    replace(
                        finding,
                        severity=Severity.INFO,
                        detail=f"allowed until {entry.expires} ({entry.reason}): {finding.detail}",
                        evidence=dict(finding.evidence, allowed_severity=finding.severity.value),
                    )
                )
        return out

    def match(self, finding: Finding) -> AllowEntry | None:
        for entry in self.entries:
            if (
                entry.kind == finding.kind
                and fnmatch.fnmatchcase(finding.subject, entry.subject)
                and fnmatch.fnmatchcase(finding.hop, entry.hop)
            ):
                return entry
        return None


def load_allowlist(path: Path) -> AllowList:
    """Parse an allow-list file; errors name the file, line and field."""
    return parse_model(AllowList, load_yaml(path))
