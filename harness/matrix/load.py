"""Load a matrix file into a resolved ``Matrix``, with every error pointing at its line.

Two passes: pydantic checks shape and types (``parse_model``), then this module checks what
a schema cannot: versions against the published list, the skew policy along each path,
platform steps against their components, duplicates, and referenced files. Every failure is
an ``InputError`` reading ``file:line: field: reason`` so a person can fix it without a
debugger; anything else escaping this module is a bug.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import yaml

from harness.config.yamlfile import LoadedYAML, load_yaml, parse_model
from harness.errors import InputError, VersionError
from harness.matrix.expand import (
    build_path,
    chain_refusal,
    expand_cells,
    expand_range,
    published_version,
    step_refusal,
)
from harness.matrix.model import Matrix, PlatformStep, ScenarioSelection, UpgradePath
from harness.matrix.spec import MatrixSpec, PathSpec, PlatformStepSpec, WorkloadSpec
from harness.versions import KubeVersion
from harness.workloads.helm import CHART_FILE
from harness.workloads.manifest import WorkloadInput

FieldPath = tuple[str | int, ...]


def load_matrix(path: Path, available: Sequence[KubeVersion], *, text: str | None = None) -> Matrix:
    """Read, validate and resolve the matrix at ``path``.

    ``available`` is the published version list (``goproxy.published_versions()`` in real
    use), passed in so loading is pure and testable offline. ``text`` replaces reading the
    file (tests, stdin); relative paths in it still resolve against ``path``'s directory.
    """
    loaded = _read(path, text)
    spec = parse_model(MatrixSpec, loaded)
    return _Resolver(loaded, available).matrix(spec)


class _Resolver:
    """The checks that need more than one field at a time, each reporting its own location."""

    def __init__(self, loaded: LoadedYAML, available: Sequence[KubeVersion]) -> None:
        self.loaded = loaded
        self.available = sorted(available)

    def fail(self, where: FieldPath, message: str, hint: str | None = None, *, version: bool = False) -> InputError:
        error = VersionError if version else InputError
        return error(f"{self.loaded.locate(where)}: {message}", hint=hint)

    def matrix(self, spec: MatrixSpec) -> Matrix:
        base = self.loaded.path.parent
        providers = self.unique(spec.providers, ("providers",), "provider")
        components = {name: tuple(c.versions) for name, c in spec.platform.components.items()}

        paths: list[UpgradePath] = []
        seen: dict[str, int] = {}
        for index, path_spec in enumerate(spec.paths):
            path = self.path(index, path_spec, spec.platform.steps, components)
            if path.label in seen:
                raise self.fail(
                    ("paths", index),
                    f"same path as paths[{seen[path.label]}] ({path.label})",
                    hint="each path may appear once; cells must be unique",
                )
            seen[path.label] = index
            paths.append(path)

        workloads = tuple(self.workload(base, entry, index) for index, entry in enumerate(spec.workloads))
        allowlist = None
        if spec.allowlist is not None:
            allowlist = self.existing(base, spec.allowlist, ("allowlist",), directory=False)

        scenarios = ScenarioSelection(
            include=tuple(spec.scenarios.include),
            exclude=tuple(spec.scenarios.exclude),
            include_where=tuple(
                self.loaded.locate(("scenarios", "include", i)) for i in range(len(spec.scenarios.include))
            ),
        )
        return Matrix(
            name=spec.name,
            source=self.loaded.path,
            description=spec.description.strip(),
            providers=providers,
            paths=tuple(paths),
            cells=expand_cells(providers, paths),
            scenarios=scenarios,
            budget=spec.probes.budget,
            provider_budgets=tuple(sorted(spec.probes.provider_budgets.items())),
            components=tuple(components.items()),
            workloads=workloads,
            allowlist=allowlist,
        )

    def workload(self, base: Path, entry: WorkloadSpec, index: int) -> WorkloadInput:
        """A ``workloads:`` entry with its paths resolved and checked (a chart must have Chart.yaml)."""
        where: FieldPath = ("workloads", index)
        if entry.path is not None:
            return WorkloadInput(self.existing(base, entry.path, where, directory=None))
        assert entry.chart is not None
        chart = self.existing(base, entry.chart, (*where, "chart"), directory=True)
        if not (chart / CHART_FILE).is_file():
            raise self.fail((*where, "chart"), f"{chart} has no {CHART_FILE}", hint="chart: names a Helm chart folder")
        values = tuple(
            self.existing(base, file, (*where, "values", i), directory=False) for i, file in enumerate(entry.values)
        )
        return WorkloadInput(chart, values)

    def existing(self, base: Path, entry: str, where: FieldPath, *, directory: bool | None) -> Path:
        """Referenced files are checked at load time, so a typo fails before any cluster starts.

        ``directory``: True for a folder, False for a file, None for either."""
        kind = {True: "directory", False: "file", None: "file or directory"}[directory]
        try:
            resolved = (base / entry).resolve()
            found = resolved.exists() if directory is None else resolved.is_dir() if directory else resolved.is_file()
        except (OSError, ValueError, RuntimeError):
            resolved, found = base / entry, False
        if not found:
            raise self.fail(where, f"no {kind} {resolved}", hint="paths are relative to the matrix file")
        return resolved

    def unique(self, items: Sequence[str], where: FieldPath, what: str) -> tuple[str, ...]:
        for index, item in enumerate(items):
            if item in items[:index]:
                raise self.fail((*where, index), f"{what} {item!r} is listed twice")
        return tuple(items)

    def version(self, text: str, where: FieldPath) -> KubeVersion:
        try:
            return published_version(KubeVersion.parse_partial(text), self.available)
        except VersionError as exc:
            raise self.fail(where, exc.message.removeprefix("version: "), exc.hint, version=True) from None

    def path(
        self,
        index: int,
        spec: PathSpec,
        default_steps: Sequence[PlatformStepSpec],
        components: dict[str, tuple[str, ...]],
    ) -> UpgradePath:
        here: FieldPath = ("paths", index)
        if spec.hops is not None:
            versions = tuple(self.version(text, (*here, "hops", i)) for i, text in enumerate(spec.hops))
            refused = chain_refusal(versions)
            if refused is not None:
                raise self.fail((*here, "hops", refused[0]), refused[1], version=True)
        else:
            assert spec.from_ is not None and spec.to is not None  # PathSpec guarantees one form
            start = self.version(spec.from_, (*here, "from"))
            target = self.version(spec.to, (*here, "to"))
            try:
                versions = expand_range(start, target, self.available)
            except VersionError as exc:
                raise self.fail((*here, "to"), exc.message, exc.hint, version=True) from None

        step_specs: Sequence[PlatformStepSpec]
        if spec.platform_steps is not None:
            step_specs, steps_where, inherited = spec.platform_steps, (*here, "platform_steps"), False
        else:
            step_specs, steps_where, inherited = default_steps, ("platform", "steps"), True
        steps = [PlatformStep(s.at_hop, s.component, s.to, s.with_kubernetes) for s in step_specs]
        bad = step_refusal(steps, len(versions), components)
        if bad is not None:
            step_index, field, reason = bad
            label = ">".join(str(v) for v in versions)
            context = f" (applied to paths[{index}]: {label})" if inherited else ""
            hint = "give this path its own platform_steps" if inherited and field == "at_hop" else None
            raise self.fail((*steps_where, step_index, field), reason + context, hint)
        return build_path(versions, spec.nodes_lag, steps, components)


# ---------------------------------------------------------------------------------------------
# Reading: ``load_yaml`` reports syntax errors with their line; these wrappers make sure the
# rarer failures (bad tags, malformed typed scalars, recursive aliases) do too, and that every
# message starts with the file name.

_LINE_ONLY = re.compile(r"^line (\d+): ")


def _read(path: Path, text: str | None) -> LoadedYAML:
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot be read: {exc}") from None
    try:
        return load_yaml(path, text)
    except InputError as exc:
        message = exc.message
        if not message.startswith(str(path)):
            message = _LINE_ONLY.sub(lambda m: f"{path}:{m.group(1)}: ", message, count=1)
            if not message.startswith(str(path)):
                message = f"{path}: {message}"
        raise InputError(message, hint=exc.hint) from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply, or an alias refers to itself") from None
    except Exception as exc:
        # PyYAML's scalar constructors fail on tagged or malformed scalars (``!!int abc``,
        # ``!!int`` alone, ``!!timestamp x``, ``!foo``) with whatever exception their parsing
        # hits (ValueError, IndexError, KeyError...), and ``load_yaml`` builds scalars outside
        # its error handling. The input is the cause, so: find that node again, name its line.
        raise _diagnose(path, text, exc) from None


def _diagnose(path: Path, text: str, original: BaseException) -> InputError:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        root = None
    constructor = yaml.SafeLoader("")
    stack: list[yaml.Node] = [root] if root is not None else []
    visited: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in node.value for n in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        else:
            try:
                constructor.construct_object(node, deep=True)
            except Exception:
                line = node.start_mark.line + 1
                return InputError(
                    f"{path}:{line}: cannot read value {node.value!r} tagged {node.tag}",
                    hint="use plain strings, numbers, booleans, lists and mappings",
                )
    return InputError(f"{path}: cannot be read as plain YAML data: {original}")
