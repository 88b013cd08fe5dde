"""The keys under which a matrix run keeps its state on pytest objects (``config.stash``,
``item.stash``), in one place so every module reads the same keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from harness.matrix import Matrix
    from harness.progress import ProgressFn
    from harness.run.cell import CellRun
    from harness.run.records import ItemRecord

#: The matrix given with ``--matrix``.
MATRIX: pytest.StashKey[Matrix] = pytest.StashKey()
#: Cell id -> its running cell (on the worker that runs the cell).
CELL_RUNS: pytest.StashKey[dict[str, CellRun]] = pytest.StashKey()
#: What an item contributes to the report (``item.stash``).
RECORD: pytest.StashKey[ItemRecord] = pytest.StashKey()
#: The display of the command running pytest in-process (``harness.run.progress_plugin``).
PROGRESS: pytest.StashKey[ProgressFn] = pytest.StashKey()
