"""Reading every detector's snapshot before a hop, and one detector's after it, each timed.

Detectors that compare two API readings only read, each its own objects, so they read side by
side; the others (deprecated-API usage, the dry-run on a scratch cluster) follow one by one in
registry order, as they always have, so the usage counts the same requests as before. Each
detector's time goes into the cell's timings as ``detector NAME before@VERSION`` (or ``after``).
"""

from __future__ import annotations

from typing import Any

from harness.detectors.base import Detector, SnapshotContext
from harness.detectors.registry import DETECTORS
from harness.progress import ProgressFn
from harness.side_by_side import side_by_side


def timed_snapshot(chosen: Detector[Any], ctx: SnapshotContext, when: str) -> Any:
    """``chosen.snapshot(ctx)``, its duration recorded through ``ctx.timed``."""
    return ctx.timed(f"detector {chosen.name} {when}@{ctx.version}", lambda: chosen.snapshot(ctx))


def snapshots_before(ctx: SnapshotContext, progress: ProgressFn) -> dict[str, Any]:
    """Every detector's snapshot before the hop, by detector name."""
    readers = [d for d in DETECTORS if d.reads_after]
    progress(f"before the hop: detectors {', '.join(d.name for d in readers)} read the cluster")
    read = side_by_side([_reader(d, ctx) for d in readers])
    snapshots: dict[str, Any] = {d.name: snapshot for d, snapshot in zip(readers, read, strict=True)}
    for chosen in DETECTORS:
        if not chosen.reads_after:
            progress(f"before the hop: detector {chosen.name} reads the cluster")
            snapshots[chosen.name] = timed_snapshot(chosen, ctx, "before")
    return snapshots


def _reader(chosen: Detector[Any], ctx: SnapshotContext) -> Any:
    return lambda: timed_snapshot(chosen, ctx, "before")
