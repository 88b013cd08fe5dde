"""Reading scenario directories: ``scenario.yaml``, its templates and its ``checks.py``.

Everything that can be checked without a cluster is checked here, so a broken scenario fails
when it is loaded (in a unit test, or when a matrix is collected) rather than halfway through
an upgrade: the YAML shape, that every referenced template and check function exists, that
template strings compile, and that probes sit in ``during`` only. Every error names the file,
the line and the field.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from pydantic import ValidationError

from harness.config.yamlfile import LoadedYAML, load_yaml, located_error
from harness.errors import InputError
from harness.scenarios.model import PHASES, STEP_TYPES, ScenarioSpec, Step
from harness.scenarios.render import Renderer, bare_expression

SCENARIO_FILE = "scenario.yaml"
CHECKS_FILE = "checks.py"

#: Where a step sits in ``scenario.yaml``: ``("verify", 3, "as_user", "steps", 0)``.
StepPath = tuple[str | int, ...]

CheckFunction = Callable[..., Any]


@dataclass(frozen=True)
class Scenario:
    """A loaded, checked scenario: its spec plus what is needed to render and run it."""

    spec: ScenarioSpec
    directory: Path
    source: LoadedYAML = field(repr=False)
    renderer: Renderer = field(repr=False)
    checks: dict[str, CheckFunction] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def promise(self) -> str:
        return self.spec.promise

    def locate(self, where: StepPath) -> str:
        """``scenario.yaml:line: field`` for messages."""
        return self.source.locate(where)

    def default_params(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.spec.parameters.items()}


def load_scenario(directory: Path) -> Scenario:
    """Load and check the scenario in ``directory``; ``InputError`` naming file, line and field."""
    path = directory / SCENARIO_FILE
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory", hint="a scenario is a directory with scenario.yaml")
    loaded = load_yaml(path)
    if not isinstance(loaded.data, dict | None):
        raise InputError(f"{path}:1: expected a mapping of scenario fields, found {type(loaded.data).__name__}")
    spec = _parse(loaded)
    if spec.name != directory.name:
        raise InputError(
            f"{loaded.locate(('name',))}: scenario name {spec.name!r} differs from its directory {directory.name!r}",
            hint="matrices select scenarios by directory name; make them equal",
        )
    renderer = Renderer(directory)
    _check_template_files(directory, renderer)
    checks = _load_checks(directory, spec.name)
    scenario = Scenario(spec, directory, loaded, renderer, checks)
    for phase in PHASES:
        for index, step in enumerate(spec.phase(phase)):
            _check_step(scenario, step, (phase, index), phase, nested_in=())
    return scenario


def discover(root: Path = Path("scenarios")) -> list[Scenario]:
    """Every scenario under ``root`` (directories holding a ``scenario.yaml``), by name."""
    if not root.is_dir():
        raise InputError(f"{root}: no such scenario directory")
    return [load_scenario(d) for d in sorted(root.iterdir()) if (d / SCENARIO_FILE).is_file()]


def walk_steps(steps: list[Step], where: StepPath) -> Iterator[tuple[StepPath, Step]]:
    """Every step with its path, nested ones (``as_user``, ``probe``) after their parent."""
    for index, step in enumerate(steps):
        path = (*where, index)
        yield path, step
        if step.as_user is not None:
            yield from walk_steps(step.as_user.steps, (*path, "as_user", "steps"))
        if step.probe is not None:
            yield from walk_steps(step.probe.steps, (*path, "probe", "steps"))


def _parse(loaded: LoadedYAML) -> ScenarioSpec:
    try:
        return ScenarioSpec.model_validate(loaded.data if loaded.data is not None else {})
    except ValidationError as exc:
        error = located_error(exc, loaded)
        first = exc.errors(include_url=False)[0]
        loc = first["loc"]
        if first["type"] == "extra_forbidden" and len(loc) >= 3 and isinstance(loc[-2], int):
            raise InputError(
                f"{error.message} (not a step type)",
                hint=f"a step has one of: {', '.join(STEP_TYPES)}; and optionally name, requires, per_tenant, when",
            ) from None
        raise error from None


def _check_template_files(directory: Path, renderer: Renderer) -> None:
    """Every ``*.j2`` compiles: a syntax error is reported even in a template no step uses yet."""
    for template in sorted(directory.glob("*.j2")):
        try:
            renderer.env.parse(template.read_text(encoding="utf-8"), template.name, str(template))
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(f"{template}:{exc.lineno}: template syntax error: {exc.message}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{template}: cannot be read: {exc}") from None


def _check_step(scenario: Scenario, step: Step, where: StepPath, phase: str, nested_in: tuple[str, ...]) -> None:
    locate = scenario.locate
    kind = step.step_type
    if kind == "probe" and (phase != "during" or nested_in):
        raise InputError(
            f"{locate((*where, 'probe'))}: probe steps run while a hop runs",
            hint="put probes at the top level of the during phase",
        )
    if phase == "during" and not nested_in and kind != "probe":
        raise InputError(
            f"{locate((*where, kind))}: the during phase holds probe steps only",
            hint="wrap the step in a probe: {probe: {steps: [...]}}",
        )
    if kind == "as_user" and "as_user" in nested_in:
        raise InputError(f"{locate((*where, 'as_user'))}: as_user cannot be nested in another as_user")
    action = step.action
    template = getattr(action, "template", None)
    if template is not None and not (scenario.directory / template).is_file():
        present = ", ".join(sorted(p.name for p in scenario.directory.glob("*.j2"))) or "none"
        raise InputError(
            f"{locate((*where, kind, 'template'))}: no template {template!r} in {scenario.directory}",
            hint=f"templates here: {present}",
        )
    if step.check is not None and step.check.function not in scenario.checks:
        known = ", ".join(sorted(scenario.checks)) or f"none (is there a {CHECKS_FILE}?)"
        raise InputError(
            f"{locate((*where, 'check', 'function'))}: no function {step.check.function!r} in "
            f"{scenario.directory / CHECKS_FILE}",
            hint=f"functions there: {known}",
        )
    raw = scenario.source.data
    for part in where:
        raw = raw[part]
    scenario.renderer.syntax_check({k: v for k, v in raw.items() if k not in ("as_user", "probe")}, locate, where)
    if step.when is not None:
        scenario.renderer.syntax_check("{{ " + bare_expression(step.when) + " }}", locate, (*where, "when"))
    for nested_key in ("as_user", "probe"):
        nested = raw.get(nested_key)
        if isinstance(nested, dict):
            scenario.renderer.syntax_check(
                {k: v for k, v in nested.items() if k != "steps"}, locate, (*where, nested_key)
            )
    children = step.as_user.steps if step.as_user else step.probe.steps if step.probe else []
    for index, child in enumerate(children):
        _check_step(scenario, child, (*where, kind, "steps", index), phase, (*nested_in, kind))


def _load_checks(directory: Path, name: str) -> dict[str, CheckFunction]:
    """The check functions of the scenario's ``checks.py``: those in its ``__all__`` (which may
    re-export shared ones), else the public functions it defines; none without the file."""
    path = directory / CHECKS_FILE
    if not path.is_file():
        return {}
    # One module per directory: copies of a scenario (tests plant broken ones) never share state.
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:10]
    module_name = f"spin_harness_scenario_checks_{name.replace('-', '_')}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise InputError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look the module up by name
    # Scenario directories are data; keep them free of __pycache__ directories.
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # any error in a user's file is reported with its place
        sys.modules.pop(module_name, None)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
        line = f":{frames[-1].lineno}" if frames else ""
        raise InputError(f"{path}{line}: cannot be imported: {type(exc).__name__}: {exc}") from None
    finally:
        sys.dont_write_bytecode = writes_bytecode
    exported = getattr(module, "__all__", None)
    if exported is not None:  # shared checks imported from the harness are listed here
        return {attr: getattr(module, attr) for attr in exported if callable(getattr(module, attr, None))}
    return {
        attr: value
        for attr, value in vars(module).items()
        if not attr.startswith("_") and callable(value) and getattr(value, "__module__", None) == module_name
    }
