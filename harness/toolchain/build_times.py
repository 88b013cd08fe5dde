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

from harness.toolchain.manifest import BUILT_FROM_MODULES, MANIFEST_NAME

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
            if all(r.get("source") == BUILT_FROM_MODULES and r.get("seconds") for r in chosen):
                seconds = max(float(r["seconds"]) for r in chosen)
                if newest is None or mtime > newest[0]:
                    newest = (mtime, seconds)
        return newest[1] if newest else None


LOG_NAME = "build-log.json"
#: Runs kept per product version (a rebuild after a cache loss adds one).
_RUNS_KEPT = 5
#: Below this share of packages found in the Go build cache a build counts as cold, above
#: ``1 - _COLD_SHARE`` as warm.
_COLD_SHARE = 0.1


@dataclass(frozen=True)
class BuildRun:
    """One product build from Go modules: how long it took and how much the shared Go build cache saved.

    ``packages`` is what the build needed outside the standard library (0: unknown), ``compiled``
    what it had to compile; the rest came from the Go build cache, filled by earlier builds of
    any product or version that compiled the same package with the same dependencies and flags.
    """

    product: str
    version: str
    components: tuple[str, ...]
    seconds: float
    compiled: int
    packages: int
    finished: float

    @property
    def reused(self) -> float | None:
        """The share of needed packages the Go build cache already held, when known."""
        if self.packages <= 0:
            return None
        return max(0.0, 1.0 - self.compiled / self.packages)

    @property
    def cache(self) -> str:
        """``cold``, ``warm``, or the share reused in between (``37 % reused``)."""
        reused = self.reused
        if reused is None:
            return "unknown"
        if reused < _COLD_SHARE:
            return "cold"
        if reused > 1 - _COLD_SHARE:
            return "warm"
        return f"{reused * 100:.0f} % reused"

    def describe(self) -> str:
        needed = f" of {self.packages}" if self.packages else ""
        return (
            f"{self.product} {self.version} ({', '.join(self.components)}): {self.seconds / 60:.1f} min, "
            f"{self.compiled}{needed} packages compiled ({self.cache})"
        )


class BuildLog:
    """Every product build's duration and cache use, per product version, in the toolchain cache root.

    ``toolchain list --builds`` reads it to show cold and warm minutes per version; like the
    duration history it is advisory (an unreadable file only means no report)."""

    def __init__(self, root: Path) -> None:
        self.path = root / LOG_NAME

    def runs(self) -> list[BuildRun]:
        """Every recorded run, oldest first."""
        try:
            raw = json.loads(self.path.read_text())
            runs = [
                BuildRun(**{**entry, "components": tuple(entry["components"])})
                for entries in raw.values()
                for entry in entries
            ]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return []
        return sorted(runs, key=lambda run: run.finished)

    def since(self, started: float) -> list[BuildRun]:
        return [run for run in self.runs() if run.finished >= started]

    def record(self, run: BuildRun) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock"):
            by_build: dict[str, list[BuildRun]] = {}
            for earlier in self.runs():
                by_build.setdefault(f"{earlier.product} {earlier.version}", []).append(earlier)
            key = f"{run.product} {run.version}"
            by_build[key] = [*by_build.get(key, []), run][-_RUNS_KEPT:]
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({k: [asdict(r) for r in v] for k, v in sorted(by_build.items())}, indent=2))
            os.replace(tmp, self.path)
