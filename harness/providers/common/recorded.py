"""What every provider derives the same way from its clusters' records on disk.

A record (a provider's state dataclass) has a ``name``, ``directory``, ``version``, ``nodes``,
``phase`` and ``owner``; a directory whose record cannot be read stands for itself as a ``Path``.
From these come ``get``/``clusters``/``list``/``describe`` (``RecordedClusters``), the shared
part of a ``cluster list`` row, and what ``gc`` collects.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from harness.errors import ClusterError
from harness.providers.base import Cluster, ClusterRow, Garbage
from harness.providers.common.owner import Owner, describe_owner, owner_garbage_reason, validate_name


class Record(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def directory(self) -> Path: ...
    @property
    def version(self) -> str: ...
    @property
    def nodes(self) -> int: ...
    @property
    def phase(self) -> str: ...
    @property
    def owner(self) -> Owner | None: ...


R = TypeVar("R", bound=Record)


class RecordedClusters(Generic[R]):
    """``get``, ``clusters``, ``list`` and ``describe`` of a provider, from its records."""

    name: str

    def _cluster_dir(self, name: str) -> Path:
        raise NotImplementedError

    def _load(self, directory: Path) -> R:
        raise NotImplementedError

    def _all_states(self) -> builtins.list[R | Path]:
        raise NotImplementedError

    def _row(self, st: R) -> ClusterRow:
        raise NotImplementedError

    def _cluster(self, st: R) -> Cluster:
        raise NotImplementedError

    def get(self, name: str) -> Cluster:
        validate_name(name)
        directory = self._cluster_dir(name)
        if not directory.exists():
            raise ClusterError(f"no {self.name} cluster named {name!r}", hint="see 'spin-harness cluster list'")
        return self._cluster(self._load(directory))

    def clusters(self) -> builtins.list[Cluster]:
        return [self._cluster(st) for st in self._all_states() if not isinstance(st, Path)]

    def list(self) -> builtins.list[ClusterRow]:
        return [
            ClusterRow.broken(st.name, self.name) if isinstance(st, Path) else self._row(st)
            for st in self._all_states()
        ]

    def describe(self, cluster: Cluster) -> ClusterRow:
        return self._row(self._load(cluster.state_dir))


def record_row(
    provider: str,
    st: Record,
    *,
    api_port: int | None,
    kubeconfig: Path,
    node_names: tuple[str, ...] = (),
    extra: dict[str, str] | None = None,
) -> ClusterRow:
    """The ``cluster list`` row of ``st``, its apiserver on the loopback at ``api_port``."""
    return ClusterRow(
        name=st.name,
        provider=provider,
        phase=st.phase,
        version=st.version,
        nodes=st.nodes,
        owner=describe_owner(st.owner),
        apiserver=f"https://127.0.0.1:{api_port}",
        kubeconfig=str(kubeconfig),
        node_names=node_names,
        extra=extra or {},
    )


def recorded_garbage_reason(
    st: R | Path, *, everything: bool, idle: Callable[[R], object], why_idle: str
) -> str | None:
    """Why ``gc`` removes the cluster of ``st`` (None: it does not): an unreadable record, a reason
    of ``owner_garbage_reason``, or ``why_idle`` for a kept cluster that ``idle`` finds stopped."""
    if isinstance(st, Path):
        return "its state file is missing or unreadable"
    reason = owner_garbage_reason(st.owner, everything=everything)
    if reason is None and st.owner is None and idle(st):
        return why_idle
    return reason


def recorded_garbage(
    states: Iterable[R | Path],
    what: str,
    reason: Callable[[R | Path], str | None],
    remove: Callable[[Path], None],
) -> builtins.list[Garbage]:
    """A ``Garbage`` (``what`` and the directory name) for each of ``states`` that has a ``reason``."""
    found: builtins.list[Garbage] = []
    for st in states:
        directory = st if isinstance(st, Path) else st.directory
        why = reason(st)
        if why is not None:
            owner_gone = not isinstance(st, Path) and st.owner is not None and not st.owner.alive()
            found.append(Garbage(f"{what} {directory.name}", why, partial(remove, directory), owner_gone=owner_gone))
    return found
