"""Upgrade matrices: which providers walk which upgrade paths, as cells CI can run one by one.

Pure logic (no cluster, no network): the published version list is always an argument.
See ``harness.matrix.spec`` for the file schema.
"""

from harness.matrix.expand import (
    build_path,
    expand_cells,
    expand_range,
    parse_cell_id,
    plan_nodes,
    published_version,
    select_cells,
    select_scenarios,
    step_id,
)
from harness.matrix.load import load_matrix
from harness.matrix.model import (
    Cell,
    CellKey,
    Hop,
    Matrix,
    PlatformMove,
    PlatformStep,
    ScenarioSelection,
    UpgradePath,
)
from harness.matrix.render import render_matrix, show
from harness.matrix.spec import KNOWN_PROVIDERS, ProbeBudget

__all__ = [
    "KNOWN_PROVIDERS",
    "Cell",
    "CellKey",
    "Hop",
    "Matrix",
    "PlatformMove",
    "PlatformStep",
    "ProbeBudget",
    "ScenarioSelection",
    "UpgradePath",
    "build_path",
    "expand_cells",
    "expand_range",
    "load_matrix",
    "parse_cell_id",
    "plan_nodes",
    "published_version",
    "render_matrix",
    "select_cells",
    "select_scenarios",
    "show",
    "step_id",
]
