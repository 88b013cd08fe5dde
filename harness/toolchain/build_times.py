"""How long each Go build took last time, so a progress line can say roughly how long is left.

One JSON file in the toolchain cache (``build-times.json``) maps a build step (the product and
the packages it builds, without their version: the next patch builds about as long) to its
last duration and package count. Builds made before this file existed left their duration in
their product manifests (``seconds``), which serve as a fallback. The file is advisory: a
missing, unreadable or concurrently rewritten file only means no estimate.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock

from harness.toolchain.manifest import MANIFEST_NAME

FILE_NAME = "build-times.json"


@dataclass(frozen=True)
class BuildTime:
    """One finished build step: its duration, the packages it compiled, what version it was."""

    seconds: float
    packages: int
    version: str
    finished: float


class BuildTimes:
    """The build-duration history kept in the toolchain cache root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / FILE_NAME

    def _read(self) -> dict[str, BuildTime]:
        try:
            raw = json.loads(self.path.read_text())
            return {key: BuildTime(**value) for key, value in raw.items()}
        except (OSError, ValueError, TypeError):
            return {}

    def previous(self, step: str) -> BuildTime | None:
        return self._read().get(step)

    def record(self, step: str, seconds: float, packages: int, version: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock"):
            entries = self._read()
            entries[step] = BuildTime(round(seconds, 1), packages, version, time.time())
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({k: asdict(v) for k, v in sorted(entries.items())}, indent=2))
            os.replace(tmp, self.path)

    def from_manifests(self, product: str, components: list[str]) -> float | None:
        """The newest built duration a manifest of ``product`` recorded for all of ``components``."""
        newest: tuple[float, float] | None = None
        for manifest in (self.root / product).glob(f"*/{MANIFEST_NAME}"):
            try:
                records = json.loads(manifest.read_text()).get("components", {})
                chosen = [records[name] for name in components]
                mtime = manifest.stat().st_mtime
            except (OSError, ValueError, KeyError, AttributeError):
                continue
            if all(r.get("source") == "build" and r.get("seconds") for r in chosen):
                seconds = max(float(r["seconds"]) for r in chosen)
                if newest is None or mtime > newest[0]:
                    newest = (mtime, seconds)
        return newest[1] if newest else None
