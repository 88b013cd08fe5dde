"""Garbage collection of clusters nobody will use again, and of what they left behind.

Each provider says what of its own is garbage and why (``ClusterProvider.garbage``: clusters
whose owner process is gone, kept clusters none of whose parts run any more after a reboot,
unreadable state); this module asks every registered provider, then removes what no provider
owns: service directories of gone processes. Collection is what ``spin-harness gc`` runs;
``scripts/test`` asks it (dry run) what a test run left behind and fails when anything is.

The pytest plugin collects less at the start of every session (``collect_dead_owners``): only
what belongs to a process that is gone, so a killed run's clusters do not pile up between runs,
while the clusters of live processes (other pytest-xdist workers, other people's runs, kept
clusters) are never touched. It reads the cluster records first and loads only the providers
that hold a cluster of a gone owner: loading a provider (and its container engine's client)
costs seconds that a session with nothing to collect should not pay. A kind node-image build
container whose build was killed is therefore collected at session start only when a kind
cluster is too; ``spin-harness gc`` always collects it.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.paths import state_root
from harness.providers import ClusterProvider, all_providers, get_provider, provider_names
from harness.providers.common.state_file import providers_with_gone_owners
from harness.service_dirs import orphaned_service_dirs


@dataclass(frozen=True)
class Collected:
    """One thing gc removed (or would remove, in a dry run), and why."""

    what: str
    reason: str


@dataclass
class Sweep:
    """What a collection that must not stop at the first error removed, and what it could not."""

    collected: list[Collected] = field(default_factory=list)
    #: ``what: error`` for each thing that could not be looked at or removed.
    failed: list[str] = field(default_factory=list)


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


def collect_dead_owners(providers: Sequence[ClusterProvider] | None = None) -> Sweep:
    """Remove what belongs to processes that are gone (clusters, build containers, service
    directories), and nothing else; an error on one item is recorded and the others go on.

    Only providers (of ``providers``, default every registered one) whose records name a gone
    owner are asked."""
    sweep = Sweep()
    holding = providers_with_gone_owners(state_root())
    if providers is None:
        providers = [get_provider(name) for name in provider_names() if name in holding]
    for provider in (p for p in providers if p.name in holding):
        try:
            found = [item for item in provider.garbage(False) if item.owner_gone]
        except Exception as exc:  # one provider's engine failing must not hide the others' garbage
            sweep.failed.append(f"{provider.name} garbage: {exc}")
            continue
        for item in found:
            try:
                item.collect()
            except Exception as exc:
                sweep.failed.append(f"{item.what}: {exc}")
            else:
                sweep.collected.append(Collected(item.what, item.reason))
    for directory in orphaned_service_dirs():
        shutil.rmtree(directory, ignore_errors=True)
        sweep.collected.append(Collected(f"service directory {directory}", "the process that ran its services is gone"))
    return sweep
