"""Garbage collection of clusters nobody will use again, and of what they left behind.

Each provider says what of its own is garbage and why (``ClusterProvider.garbage``: clusters
whose owner process is gone, kept clusters none of whose parts run any more after a reboot,
unreadable state); this module asks every registered provider, then removes what no provider
owns: service directories of gone processes. Collection is what ``spin-harness gc`` runs;
``scripts/test`` asks it (dry run) what a test run left behind and fails when anything is.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass

from harness.providers import ClusterProvider, all_providers
from harness.scenarios.services import orphaned_service_dirs


@dataclass(frozen=True)
class Collected:
    """One thing gc removed (or would remove, in a dry run), and why."""

    what: str
    reason: str


def collect(
    *, everything: bool = False, dry_run: bool = False, providers: Sequence[ClusterProvider] | None = None
) -> list[Collected]:
    """Remove garbage of every provider (or of ``providers``); return what was (or would be) removed."""
    removed: list[Collected] = []
    for provider in all_providers() if providers is None else providers:
        for item in provider.garbage(everything):
            if not dry_run:
                item.collect()
            if not item.quiet:
                removed.append(Collected(item.what, item.reason))
    for directory in orphaned_service_dirs():
        if not dry_run:
            shutil.rmtree(directory, ignore_errors=True)
        removed.append(Collected(f"service directory {directory}", "the process that ran its services is gone"))
    return removed
