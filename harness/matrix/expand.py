"""Path expansion and cells: pure functions from versions and names to what CI runs.

Nothing here reads files or asks the module proxy: the published versions come in as an
argument, so the same logic serves the loader, ``repro CELL_ID`` and property tests. Errors
are raised without a file location (``VersionError``/``InputError``); the loader adds it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
from collections.abc import Iterable, Mapping, Sequence

from harness.config.validation import NAME_RE
from harness.errors import InputError, VersionError
from harness.matrix.model import (
    KUBELET_MAX_SKEW,
    NODES_LAG_MARK,
    Cell,
    CellKey,
    Hop,
    HopKind,
    Matrix,
    PlatformMove,
    PlatformStep,
    ScenarioSelection,
    UpgradePath,
)
from harness.matrix.spec import KNOWN_PROVIDERS, MAX_NODES_LAG, PLATFORM_VERSION_RE
from harness.versions import KubeVersion, check_supported, upgrade_refusal

# ---------------------------------------------------------------------------------------------
# Versions


def _published_line(wanted: KubeVersion, available: Sequence[KubeVersion]) -> list[KubeVersion]:
    return sorted(v for v in available if (v.major, v.minor) == (wanted.major, wanted.minor))


def published_version(wanted: KubeVersion, available: Sequence[KubeVersion]) -> KubeVersion:
    """A minor (``v1.36``) becomes its newest published patch; a full version must be published.

    Resolving against the published list, rather than writing patches into matrix files,
    keeps the files from going stale every time upstream ships a patch.
    """
    # A minor has patch -1, which orders it below x.y.0; check the line, not that sentinel.
    check_supported(KubeVersion(wanted.major, wanted.minor, max(wanted.patch, 0)), field="version")
    line = _published_line(wanted, available)
    if wanted.is_partial:
        if not line:
            minors = sorted({(v.major, v.minor) for v in available})
            known = ", ".join(f"{a}.{b}" for a, b in minors) or "none"
            raise VersionError(f"no {wanted.minor_version} release is published", hint=f"published minors: {known}")
        return line[-1]
    if wanted not in line:
        known = ", ".join(str(v) for v in line) or "none"
        raise VersionError(f"{wanted} is not published", hint=f"published {wanted.minor_version} releases: {known}")
    return wanted


def expand_range(start: KubeVersion, target: KubeVersion, available: Sequence[KubeVersion]) -> tuple[KubeVersion, ...]:
    """The versions an in-place upgrade from ``start`` to ``target`` must pass through.

    One minor at a time (the control-plane skew policy), on the newest patch of every minor
    in between, because that is the patch an operator would pick and the best tested one.
    ``start`` and ``target`` may be minors; they are resolved first.
    """
    first = published_version(start, available)
    last = published_version(target, available)
    if last <= first or last.major != first.major:
        reason = upgrade_refusal(first, last) or f"{first} -> {last} is not an upgrade"
        raise VersionError(f"cannot go from {first} to {last}: {reason}")
    chain = [first]
    for minor in range(first.minor + 1, last.minor):
        middle = KubeVersion(first.major, minor, -1)
        if not _published_line(middle, available):
            raise VersionError(
                f"no {middle.minor_version} release is published, and {first} -> {last} must pass "
                f"through it (one minor at a time)"
            )
        chain.append(published_version(middle, available))
    chain.append(last)
    return tuple(chain)


def chain_refusal(versions: Sequence[KubeVersion]) -> tuple[int, str] | None:
    """The first hop (index of its target) that ``upgrade_refusal`` forbids, and why."""
    for index in range(1, len(versions)):
        reason = upgrade_refusal(versions[index - 1], versions[index])
        if reason is not None:
            return index, reason
    return None


def plan_nodes(versions: Sequence[KubeVersion], nodes_lag: int) -> tuple[KubeVersion, ...]:
    """The node version after reaching each control-plane version (see ``model`` docstring).

    Greedy on purpose: nodes stay behind as long as the lag allows, so a matrix asking for
    lag actually verifies workloads on lagging nodes instead of catching up immediately.
    """
    if not versions:
        return ()
    if not 0 <= nodes_lag <= MAX_NODES_LAG:
        raise InputError(f"nodes_lag {nodes_lag} is out of range", hint=f"0..{MAX_NODES_LAG}")
    nodes = versions[0]
    plan = [nodes]
    last = len(versions) - 1
    for index in range(1, len(versions)):
        control_plane = versions[index]
        keep = (
            nodes_lag > 0
            and index < last
            and control_plane.minor - nodes.minor <= nodes_lag
            and versions[index + 1].minor - nodes.minor <= KUBELET_MAX_SKEW
        )
        if not keep:
            nodes = control_plane
        plan.append(nodes)
    return tuple(plan)


# ---------------------------------------------------------------------------------------------
# Platform steps


def order_steps(steps: Iterable[PlatformStep]) -> tuple[PlatformStep, ...]:
    """Execution order: by hop, alongside-Kubernetes moves before platform-only ones, then as written."""
    return tuple(sorted(steps, key=lambda s: (s.at_hop, not s.with_kubernetes)))


def step_refusal(
    steps: Sequence[PlatformStep], version_count: int, components: Mapping[str, Sequence[str]]
) -> tuple[int, str, str] | None:
    """The first invalid step as (its index in ``steps``, the field at fault, why), or None."""
    for index, step in enumerate(steps):
        if step.component not in components:
            declared = ", ".join(components) or "none"
            return index, "component", f"unknown platform component {step.component!r} (declared: {declared})"
        if step.to not in components[step.component]:
            listed = ", ".join(components[step.component])
            return index, "to", f"{step.to!r} is not a listed version of {step.component} ({listed})"
        if step.at_hop > version_count - 1:
            return (
                index,
                "at_hop",
                f"at_hop {step.at_hop} is past the end of a path with {version_count - 1} upgrade(s) "
                f"(valid: 0..{version_count - 1})",
            )
        if step.with_kubernetes and step.at_hop == 0:
            return (
                index,
                "with_kubernetes",
                "at_hop 0 is the cluster's creation, not a Kubernetes upgrade; use at_hop >= 1 or "
                "with_kubernetes: false",
            )
    position = {name: 0 for name in components}
    seen: set[tuple[int, bool, str]] = set()
    order = sorted(range(len(steps)), key=lambda i: (steps[i].at_hop, not steps[i].with_kubernetes))
    for index in order:
        step = steps[index]
        stage = (step.at_hop, step.with_kubernetes, step.component)
        if stage in seen:
            return index, "component", f"{step.component} already moves in this hop (at_hop {step.at_hop})"
        seen.add(stage)
        versions = components[step.component]
        target = list(versions).index(step.to)
        current = versions[position[step.component]]
        if target == position[step.component]:
            return index, "to", f"{step.component} is already at {current} by then; the step moves nothing"
        if target < position[step.component]:
            return (
                index,
                "to",
                f"{step.component} would go back from {current} to {step.to}; components only move "
                f"forward (versions are listed oldest first)",
            )
        position[step.component] = target
    return None


# ---------------------------------------------------------------------------------------------
# Paths


def build_path(
    versions: Sequence[KubeVersion],
    nodes_lag: int = 0,
    steps: Sequence[PlatformStep] = (),
    components: Mapping[str, Sequence[str]] | None = None,
) -> UpgradePath:
    """Turn exact versions, a node lag and platform steps into the hops a cell walks.

    Raises ``VersionError``/``InputError`` (without a location) if the inputs break the
    skew policy or the step rules; the loader checks first so it can point at the line.
    """
    components = components or {}
    if len(versions) < 2:
        raise InputError("a path needs at least two versions (one upgrade)")
    for version in versions:
        if version.is_partial:
            raise VersionError(f"{version} is not an exact version", hint="resolve it first")
    refused = chain_refusal(versions)
    if refused is not None:
        raise VersionError(refused[1])
    bad = step_refusal(steps, len(versions), components)
    if bad is not None:
        raise InputError(f"platform step {bad[0]}: {bad[2]}")
    ordered = order_steps(steps)
    nodes = plan_nodes(versions, nodes_lag)
    state = {name: listed[0] for name, listed in components.items()}

    hops: list[Hop] = []

    def add(kind: HopKind, at: int, moving: Iterable[PlatformStep]) -> None:
        moves = []
        for step in moving:
            moves.append(PlatformMove(step.component, state[step.component], step.to))
            state[step.component] = step.to
        hops.append(
            Hop(
                index=len(hops),
                kind=kind,
                at=at,
                control_plane=versions[at],
                nodes=nodes[at],
                platform=tuple(moves),
                platform_versions=tuple(sorted(state.items())),
            )
        )

    for at in range(len(versions)):
        add(
            "create" if at == 0 else "upgrade",
            at,
            (s for s in ordered if s.at_hop == at and s.with_kubernetes),
        )
        alone = [s for s in ordered if s.at_hop == at and not s.with_kubernetes]
        if alone:
            add("platform", at, alone)
    return UpgradePath(versions=tuple(versions), hops=tuple(hops), nodes_lag=nodes_lag, steps=ordered)


def expand_cells(providers: Sequence[str], paths: Sequence[UpgradePath]) -> tuple[Cell, ...]:
    """Every provider crossed with every path, providers outer, both in file order.

    File order (not sorting) keeps the order the matrix author chose, which is also
    deterministic; uniqueness is the loader's job (it refuses duplicate paths).
    """
    return tuple(Cell(provider, path) for provider in providers for path in paths)


# ---------------------------------------------------------------------------------------------
# Cell ids

_CELL_ID_SHAPE = "provider:vX.Y.Z>vX.Y.Z[+component@version...][~nodes-lag=N]"


def _bad_id(text: str, why: str) -> InputError:
    return InputError(f"{text!r} is not a cell id: {why}", hint=f"expected {_CELL_ID_SHAPE}")


def _parse_moves(text: str, moves: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for move in moves:
        component, at, version = move.partition("@")
        if not at or not NAME_RE.fullmatch(component) or not PLATFORM_VERSION_RE.fullmatch(version):
            raise _bad_id(text, f"{'+' + move!r} is not +component@version")
        out.append((component, version))
    return out


def parse_cell_id(text: str) -> CellKey:
    """Invert ``Cell.id``: provider, exact versions, node lag and platform steps.

    For ``repro CELL_ID``: the id alone says which cluster to build and how to walk it. The
    versions are checked against the skew policy but not against what is published.
    Lenient about a missing ``v`` (``local:1.35.4>1.36.3``); ``CellKey.id`` is canonical.
    """
    raw = text.strip()
    provider, colon, rest = raw.partition(":")
    if not colon or not rest:
        raise _bad_id(text, "missing 'provider:'")
    if provider not in KNOWN_PROVIDERS:
        raise InputError(
            f"{text!r}: unknown provider {provider!r}", hint=f"known providers: {', '.join(KNOWN_PROVIDERS)}"
        )
    nodes_lag = 0
    if NODES_LAG_MARK in rest:
        rest, _, lag_text = rest.rpartition(NODES_LAG_MARK)
        if not lag_text.isdigit() or not 1 <= int(lag_text) <= MAX_NODES_LAG:
            raise _bad_id(text, f"nodes lag must be 1..{MAX_NODES_LAG}")
        nodes_lag = int(lag_text)
    versions: list[KubeVersion] = []
    steps: list[PlatformStep] = []
    previous_alone = False
    for stage in rest.split(">"):
        head, *moves = stage.split("+")
        parsed = _parse_moves(text, moves)
        if head == "":
            if not versions or not parsed or previous_alone:
                raise _bad_id(text, f"misplaced platform-only stage {stage!r}")
            steps.extend(PlatformStep(len(versions) - 1, c, v, False) for c, v in parsed)
            previous_alone = True
            continue
        try:
            version = KubeVersion.parse(head, field="cell id")
        except VersionError as exc:
            raise _bad_id(text, exc.message.removeprefix("cell id: ")) from None
        versions.append(version)
        if parsed and len(versions) == 1:
            raise _bad_id(text, "components cannot move with the first version (that is the creation)")
        steps.extend(PlatformStep(len(versions) - 1, c, v, True) for c, v in parsed)
        previous_alone = False
    if len(versions) < 2:
        raise _bad_id(text, "a path needs at least two versions")
    refused = chain_refusal(versions)
    if refused is not None:
        raise VersionError(f"{text!r}: {refused[1]}")
    return CellKey(provider, tuple(versions), nodes_lag, order_steps(steps))


def step_id(cell: Cell | CellKey | str, scenario: str, phase: str, version: KubeVersion | str | None = None) -> str:
    """A test id for one scenario phase in one cell: ``local:v1.35.4>v1.36.3::tenant-rbac::verify@v1.36.3``.

    ``::`` is the separator pytest itself uses, so report tools split these ids naturally;
    cell ids never contain it.
    """
    cell_id = cell if isinstance(cell, str) else cell.id
    for name, part in (("scenario", scenario), ("phase", phase)):
        if not part or "::" in part:
            raise ValueError(f"{name} {part!r} must be non-empty and must not contain '::'")
    suffix = f"@{version}" if version is not None else ""
    return f"{cell_id}::{scenario}::{phase}{suffix}"


# ---------------------------------------------------------------------------------------------
# Selection


def select_cells(matrix: Matrix, provider: str | None = None, cell_id: str | None = None) -> list[Cell]:
    """The cells ``--provider`` and ``--cell`` leave, in matrix order; errors list valid choices."""
    cells = list(matrix.cells)
    if provider is not None:
        if provider not in KNOWN_PROVIDERS:
            raise InputError(
                f"unknown provider {provider!r}",
                hint=f"known providers: {', '.join(KNOWN_PROVIDERS)}; matrix {matrix.name} runs: "
                + ", ".join(matrix.providers),
            )
        if provider in matrix.providers:
            cells = [c for c in cells if c.provider == provider]
        else:
            # A provider the matrix does not name walks the matrix's paths (those of its first
            # provider): `run smoke.yaml --provider kind` is the smoke matrix on kind clusters.
            base = matrix.providers[0]
            cells = [dataclasses.replace(c, provider=provider) for c in cells if c.provider == base]
    if cell_id is not None:
        wanted = cell_id.strip()
        # Not even a valid id: it cannot match, and the error below lists the ids that would.
        with contextlib.suppress(InputError):
            wanted = parse_cell_id(wanted).id
        chosen = [c for c in cells if c.id == wanted]
        if not chosen:
            scope = f" for provider {provider}" if provider is not None else ""
            raise InputError(
                f"no cell {cell_id!r} in matrix {matrix.name} ({matrix.source}){scope}",
                hint="valid cell ids: " + ", ".join(c.id for c in cells),
            )
        cells = chosen
    return cells


def select_scenarios(selection: ScenarioSelection, names: Iterable[str]) -> list[str]:
    """Scenario names matching an include glob and no exclude glob, sorted.

    An include without wildcards that matches nothing is an error naming its line: it is a
    typo, and running fewer scenarios than intended must not pass silently.
    """
    available = sorted(set(names))
    for index, pattern in enumerate(selection.include):
        literal = not any(ch in pattern for ch in "*?[")
        if literal and pattern not in available:
            where = selection.include_where[index] if index < len(selection.include_where) else "scenarios"
            raise InputError(
                f"{where}: no scenario directory named {pattern!r}",
                hint="scenarios: " + (", ".join(available) or "none found"),
            )
    return [
        name
        for name in available
        if any(fnmatch.fnmatchcase(name, p) for p in selection.include)
        and not any(fnmatch.fnmatchcase(name, p) for p in selection.exclude)
    ]
