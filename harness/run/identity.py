"""Who a test item is: its cell, group and phase, and the id built from them.

Ids read like the matrix: ``local:v1.36.3>v1.37.2::tenant-rbac::verify@v1.37.2``. They are built
here, once, and carried as data wherever they are needed; nothing parses an id back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Group(enum.StrEnum):
    """The harness's own item groups; every other group is a scenario's name."""

    CLUSTER = "cluster"
    UPGRADE = "upgrade"
    WORKLOADS = "workloads"
    DETECTORS = "detectors"


class Phase(enum.StrEnum):
    """What an item does; a detector item's phase is the detector's name instead."""

    CREATE = "create"
    SETUP = "setup"
    REPLAY = "replay"
    VERIFY = "verify"
    HOP = "hop"
    HEALTH = "health"
    DURING = "during"
    TEARDOWN = "teardown"
    DELETE = "delete"


#: Groups whose failure leaves the cell unable to continue.
CELL_BREAKING = frozenset({Group.CLUSTER, Group.UPGRADE})


@dataclass(frozen=True)
class ItemId:
    """One item of a cell: ``<cell>::<group>::<phase>@<version>``."""

    cell: str
    #: A ``Group``, or the scenario's name.
    group: str
    #: A ``Phase``, or the detector's name in group ``detectors``.
    phase: str
    #: The version the item runs at (a hop's target may carry ``+component@version`` moves).
    version: str

    @property
    def step(self) -> str:
        """``verify@v1.37.2``: the phase at its version (what ``--until`` and the report name)."""
        return f"{self.phase}@{self.version}"

    @property
    def name(self) -> str:
        """The item's name under its cell: ``tenant-rbac::verify@v1.37.2``."""
        return f"{self.group}::{self.step}"

    @property
    def id(self) -> str:
        return f"{self.cell}::{self.name}"

    @property
    def breaks_cell(self) -> bool:
        """Whether a failure here means the cell's later items cannot run."""
        return self.group in CELL_BREAKING

    @property
    def is_cell_delete(self) -> bool:
        """The last item: it runs even in a broken cell, to remove the cluster."""
        return self.group == Group.CLUSTER and self.phase == Phase.DELETE
