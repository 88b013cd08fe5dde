"""What one hop of a cell did: versions, time, the playbook run, probe timelines and findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.detectors import disruption
from harness.findings import Finding
from harness.upgrade.playbook import PlaybookRun
from harness.versions import KubeVersion


@dataclass
class HopRecord:
    index: int
    from_version: str
    to_version: str
    seconds: float = 0.0
    playbook: PlaybookRun | None = None
    timelines: list[disruption.Timeline] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    #: ``harness.releasenotes.hop.hop_notes`` for an upgrade hop: information, never a verdict.
    release_notes: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return f"{self.from_version}>{self.to_version}"

    @property
    def target(self) -> KubeVersion:
        """The control-plane version the hop went to (``to_version`` without platform moves)."""
        return KubeVersion.parse(self.to_version.split("+")[0])
