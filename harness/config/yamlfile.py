"""YAML that remembers where every value came from, and validation that says so.

Matrices, scenarios and allow-lists are written by people. When one is wrong, the error must
name the file, the line and the field, and say what would fix it. PyYAML's composer keeps
each node's position; this module turns the node tree into plain data plus a map from field
path to line, and turns pydantic's validation errors into one ``InputError`` per problem
(the first, with the count of the rest).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import InputError

FieldPath = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass
class LoadedYAML:
    """One YAML document as plain data, with the 1-based line of every mapping key and item."""

    path: Path
    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line_of(self, where: Sequence[str | int]) -> int:
        """The line of the deepest known ancestor of ``where`` (the document start if none)."""
        key = tuple(where)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)

    def locate(self, where: Sequence[str | int]) -> str:
        """``file:line: field`` for messages."""
        dotted = format_field(where)
        return f"{self.path}:{self.line_of(where)}: {dotted}" if dotted else f"{self.path}:{self.line_of(where)}"


def format_field(where: Sequence[str | int]) -> str:
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Loader(yaml.SafeLoader):
    """SafeLoader: plain data only, never Python objects."""


def load_yaml(path: Path, text: str | None = None) -> LoadedYAML:
    """Parse one YAML document; syntax errors become ``InputError`` with the line and column."""
    try:
        source = path.read_text(encoding="utf-8") if text is None else text
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read: {exc}") from None
    try:
        nodes = list(yaml.compose_all(source, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InputError(
            f"{where}: invalid YAML: {exc.problem or exc.context}",
            hint="check indentation and quoting on that line",
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {exc}") from None
    nodes = [n for n in nodes if n is not None]
    if len(nodes) > 1:
        raise InputError(
            f"{path}:{nodes[1].start_mark.line + 1}: expected one YAML document, found several",
            hint="remove the extra '---' separator",
        )
    loaded = LoadedYAML(path, None)
    if nodes:
        try:
            loaded.data = _to_data(nodes[0], (), loaded.lines)
        except _NodeError as exc:
            raise InputError(f"{path}:{exc.line}: {exc.message}", hint=exc.hint) from None
        except RecursionError:
            raise InputError(
                f"{path}: YAML aliases refer to themselves", hint="remove the recursive '*' alias"
            ) from None
    return loaded


class _NodeError(Exception):
    def __init__(self, line: int, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.line, self.message, self.hint = line, message, hint


#: More values than any hand-written file has; stops alias bombs expanding without bound.
_MAX_VALUES = 200_000


def _to_data(node: yaml.Node, where: FieldPath, lines: dict[FieldPath, int]) -> Any:
    lines.setdefault(where, node.start_mark.line + 1)
    if len(lines) > _MAX_VALUES:
        raise _NodeError(node.start_mark.line + 1, f"more than {_MAX_VALUES} values (do aliases expand endlessly?)")
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise _NodeError(line, "mapping keys must be plain strings")
            key = key_node.value
            if key in out:
                raise _NodeError(line, f"duplicate key {format_field((*where, key))}", "each key may appear once")
            lines[(*where, key)] = line
            out[key] = _to_data(value_node, (*where, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(item, (*where, i), lines) for i, item in enumerate(node.value)]
    try:
        return _SCALARS.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        problem = getattr(exc, "problem", None) or str(exc) or type(exc).__name__
        raise _NodeError(
            node.start_mark.line + 1,
            f"{format_field(where) or 'value'}: cannot read value: {problem}",
            "quote the value to make it a plain string",
        ) from None


_SCALARS = _Loader("")


def parse_model(model: type[ModelT], loaded: LoadedYAML, *, prefix: Sequence[str | int] = ()) -> ModelT:
    """Validate ``loaded.data`` (or the part at ``prefix``) into ``model`` with located errors."""
    data: Any = loaded.data
    for part in prefix:
        data = data[part]
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise located_error(exc, loaded, prefix) from None


def located_error(exc: ValidationError, loaded: LoadedYAML, prefix: Sequence[str | int] = ()) -> InputError:
    """The first validation problem as ``file:line: field: message``, plus how many more there are."""
    # A misspelt field shows up twice: as unknown, and as the real one missing. The unknown
    # one names the typo, so it goes first.
    problems = sorted(exc.errors(include_url=False), key=lambda p: p["type"] != "extra_forbidden")
    first = problems[0]
    where = (*prefix, *(p for p in first["loc"] if isinstance(p, str | int)))
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "missing":
        message = "required field is missing"
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    hint = first.get("ctx", {}).get("hint") if isinstance(first.get("ctx"), Mapping) else None
    return InputError(f"{loaded.locate(where)}: {message}{more}", hint=hint)
