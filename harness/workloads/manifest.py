"""What a workload input is, once read: objects that remember where they came from.

Every object keeps its file, the 1-based index of its YAML document in that file (JSON files
have one document), the line the document starts on, and its position in a ``List``'s items
when it came from one, so a finding can say exactly which manifest to change. A read also
returns what it did *not* read (files of other types, hidden entries), because input the
harness skipped must show in the verdict, never vanish silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object and the place in the input it was read from."""

    source: Path
    body: dict[str, Any]
    #: 1-based YAML document index in ``source`` (every ``---``-separated document counts, empty ones too).
    document: int = 1
    #: 1-based line the document starts on (0 when unknown).
    line: int = 0
    #: Index in the document's ``items`` when it was a ``List`` (``kubectl get -o yaml``).
    item: int | None = None
    #: The chart a rendered object came from (``source`` is then the template file).
    chart: Path | None = None

    @property
    def label(self) -> str:
        meta = self.body.get("metadata", {})
        where = f"{meta['namespace']}/" if meta.get("namespace") else ""
        return f"{self.body.get('apiVersion')} {self.body.get('kind')} {where}{meta.get('name')}"

    @property
    def where(self) -> str:
        """``file document N (line L) items[i]``: the place a person opens to change this object."""
        text = f"{self.source} document {self.document}"
        if self.line:
            text += f" (line {self.line})"
        if self.item is not None:
            text += f" items[{self.item}]"
        if self.chart is not None:
            text += f" rendered from chart {self.chart}"
        return text


@dataclass(frozen=True)
class WorkloadInput:
    """A ``--workloads`` / matrix ``workloads:`` entry: a file, a folder, or a Helm chart with values files."""

    path: Path
    values: tuple[Path, ...] = ()

    def __str__(self) -> str:
        return str(self.path) + "".join(f" --values {v}" for v in self.values)


@dataclass
class WorkloadSet:
    """Everything read from a set of inputs, and everything that was not read."""

    manifests: list[Manifest] = field(default_factory=list)
    #: Files read (manifest files, and charts as their directory).
    files: list[Path] = field(default_factory=list)
    #: Files in the input folders whose type is not a manifest type: listed, never dropped silently.
    ignored: list[Path] = field(default_factory=list)
    #: Hidden files and folders (``.git``, ``.DS_Store``...) skipped, by path.
    hidden: list[Path] = field(default_factory=list)

    def extend(self, other: WorkloadSet) -> None:
        self.manifests += other.manifests
        self.files += other.files
        self.ignored += other.ignored
        self.hidden += other.hidden

    def to_json(self) -> dict[str, Any]:
        """The ``workload_inputs`` entry of ``summary.json``."""
        return {
            "objects": len(self.manifests),
            "files": [str(p) for p in self.files],
            "ignored": [str(p) for p in self.ignored],
            "hidden": len(self.hidden),
        }

    def notes(self) -> list[str]:
        """One line per kind of input not read, for terminal output."""
        out = []
        if self.ignored:
            out.append(
                f"ignored {len(self.ignored)} file(s) that are not .yaml/.yml/.json: "
                + ", ".join(str(p) for p in self.ignored)
            )
        if self.hidden:
            out.append(f"skipped {len(self.hidden)} hidden file(s)/folder(s) (.git and the like)")
        return out
