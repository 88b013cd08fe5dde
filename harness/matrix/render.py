"""``spin-harness matrix show FILE``: what a matrix will run, before anything is built.

Plain text, no colours or terminal width guessing, so the same output reads well in a
terminal, a CI log and a code review comment. The cell ids printed are exactly the ones
``--cell`` and ``repro`` accept.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.matrix.load import load_matrix
from harness.matrix.model import Hop, Matrix, UpgradePath
from harness.versions import KubeVersion


def show(path: Path, available: Sequence[KubeVersion]) -> str:
    """Load the matrix at ``path`` against the published ``available`` versions and describe it."""
    return render_matrix(load_matrix(path, available))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns two spaces apart, without trailing blanks."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    return [
        (indent + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))).rstrip()
        for row in [headers, *rows]
    ]


def _platform_summary(path: UpgradePath) -> str:
    return " ".join(f"+{s.component}@{s.to}" for s in path.steps) or "-"


def _hop_line(hop: Hop) -> list[str]:
    if hop.kind == "platform":
        what = "platform only"
    else:
        what = f"control plane {hop.control_plane}"
        what += f", nodes {hop.nodes}" + (f" ({hop.nodes_lag} behind)" if hop.nodes_lag else "")
    moves = ", ".join(f"{m.component} {m.from_version} -> {m.to_version}" for m in hop.platform)
    return [str(hop.index), hop.kind, what, moves]


def render_matrix(matrix: Matrix) -> str:
    """The matrix as text: header, one row per cell, then each path's hops in order."""
    budget = matrix.budget
    out = [f"matrix {matrix.name} ({matrix.source})"]
    if matrix.description:
        out.extend(f"  {line}" for line in matrix.description.splitlines())
    out.append(f"providers: {', '.join(matrix.providers)}")
    exclude = ", ".join(matrix.scenarios.exclude) or "none"
    out.append(f"scenarios: include {', '.join(matrix.scenarios.include)}; exclude {exclude}")
    out.append(
        f"probe budget per hop: api outage <= {budget.api_max_outage_seconds:g}s, "
        f"webhook outage <= {budget.webhook_max_outage_seconds:g}s, "
        f"availability >= {budget.min_availability:.2%}, "
        f"tenant workloads ready again within {budget.workload_settle_seconds:g}s"
    )
    if matrix.components:
        listed = "; ".join(f"{name} {' > '.join(versions)}" for name, versions in matrix.components)
        out.append(f"platform components: {listed}")
    if matrix.workloads:
        out.append(f"workloads: {', '.join(str(w) for w in matrix.workloads)}")
    if matrix.allowlist:
        out.append(f"allowlist: {matrix.allowlist}")

    out.append("")
    out.append(f"{len(matrix.cells)} cell(s):")
    rows = [
        [
            cell.id,
            cell.provider,
            str(cell.path.start),
            str(cell.path.target),
            str(len(cell.path.versions) - 1),
            str(cell.path.nodes_lag),
            _platform_summary(cell.path),
        ]
        for cell in matrix.cells
    ]
    out.extend(table(["CELL", "PROVIDER", "FROM", "TO", "UPGRADES", "NODES LAG", "PLATFORM"], rows))

    for number, path in enumerate(matrix.paths):
        out.append("")
        out.append(f"paths[{number}]: {path.label}")
        out.extend(
            table(
                ["HOP", "KIND", "CLUSTER AFTER HOP", "PLATFORM MOVES"],
                [_hop_line(h) for h in path.hops],
                "    ",
            )
        )
    return "\n".join(out) + "\n"
