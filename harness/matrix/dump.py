"""Write a matrix spec back as YAML, for the commands that build a matrix in Python.

``gate`` and ``repro`` build a ``MatrixSpec`` (so the same validators that check a
hand-written file check theirs) and write it with :func:`dump_matrix`, never as YAML text of
their own. Only what differs from the defaults is written, so the file reads like one a
person would write, and loading it gives back an equal spec.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.matrix.spec import MatrixSpec


def dump_matrix(spec: MatrixSpec) -> str:
    """The YAML text of ``spec``: keys in schema order, strings quoted where YAML would not read them back."""
    data = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def write_matrix(spec: MatrixSpec, path: Path) -> Path:
    """Write ``spec`` to ``path`` (creating its directory) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_matrix(spec), encoding="utf-8")
    return path
