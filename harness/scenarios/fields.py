"""Field paths into Kubernetes objects and how expected values compare with observed ones.

Paths are what people write when reading ``kubectl get -o yaml``: ``status.availableReplicas``,
``spec.template.spec.containers[0].image``, ``metadata.labels[app.kubernetes.io/name]`` (keys
with dots in brackets), and ``status.conditions[type=Ready].status`` (the first list item
whose field has that value).
"""

from __future__ import annotations

from typing import Any

from harness.errors import InputError

#: One step of a path: a key, a list index, or a (key, value) list-item selector.
Segment = str | int | tuple[str, str]

_MISSING = object()


def parse_path(text: str) -> list[Segment]:
    """Split a path: ``a[0].b[key.with.dots][type=Ready]`` -> ``a, 0, b, key.with.dots, (type, Ready)``."""
    segments: list[Segment] = []
    current = ""
    i = 0
    while i < len(text):
        char = text[i]
        if char == ".":
            if current:
                segments.append(current)
            elif not segments or text[i - 1] != "]":
                raise InputError(f"field path {text!r}: empty segment at character {i + 1}")
            current = ""
        elif char == "[":
            if current:
                segments.append(current)
                current = ""
            end = text.find("]", i)
            if end < 0:
                raise InputError(f"field path {text!r}: '[' without ']'")
            segments.append(_bracket(text[i + 1 : end].strip(), text))
            i = end
        else:
            current += char
        i += 1
    if current:
        segments.append(current)
    if not segments:
        raise InputError(f"field path {text!r} is empty")
    return segments


def _bracket(inner: str, text: str) -> Segment:
    if not inner:
        raise InputError(f"field path {text!r}: empty []")
    if inner.lstrip("-").isdigit():
        return int(inner)
    if "=" in inner:
        key, value = (part.strip().strip("'\"") for part in inner.split("=", 1))
        return (key, value)
    return inner.strip("'\"")


def lookup(obj: Any, path: str) -> tuple[bool, Any]:
    """(found, value) of ``path`` in ``obj``."""
    value: Any = obj
    for segment in parse_path(path):
        value = _step(value, segment)
        if value is _MISSING:
            return False, None
    return True, value


def _step(value: Any, segment: Segment) -> Any:
    if isinstance(segment, int):
        if isinstance(value, list) and -len(value) <= segment < len(value):
            return value[segment]
        return _MISSING
    if isinstance(segment, tuple):
        key, wanted = segment
        if isinstance(value, list):
            return next((v for v in value if isinstance(v, dict) and str(v.get(key)) == wanted), _MISSING)
        return _MISSING
    if isinstance(value, dict) and segment in value:
        return value[segment]
    return _MISSING


def matches(expected: Any, observed: Any) -> bool:
    """Scalars equal (a number equals its string form: the API writes quantities as strings);
    mappings contained in the observed mapping; lists equal item by item."""
    if isinstance(expected, dict):
        return isinstance(observed, dict) and all(
            k in observed and matches(v, observed[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(observed, list)
            and len(expected) == len(observed)
            and all(matches(e, o) for e, o in zip(expected, observed, strict=True))
        )
    if isinstance(expected, bool) or isinstance(observed, bool):
        return expected is observed
    if isinstance(expected, int | float) and isinstance(observed, str):
        return _number_text(expected) == observed
    if isinstance(expected, str) and isinstance(observed, int | float):
        return expected == _number_text(observed)
    return bool(expected == observed)


def _number_text(number: int | float) -> str:
    return str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)


def condition_status(obj: dict[str, Any], condition: str) -> str | None:
    """The status ("True", "False", "Unknown") of condition ``condition``, None if absent."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    for item in conditions:
        if isinstance(item, dict) and item.get("type") == condition:
            return str(item.get("status"))
    return None


def show(value: Any, limit: int = 200) -> str:
    """A value for a message: JSON-like, cut at ``limit`` characters."""
    import json

    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
