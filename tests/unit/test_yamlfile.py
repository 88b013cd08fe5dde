"""Located YAML loading: every problem names the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from harness.config import load_yaml, parse_model
from harness.errors import InputError


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: int


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    items: list[Inner]


def test_lines_are_recorded() -> None:
    loaded = load_yaml(Path("m.yaml"), "name: x\nitems:\n  - port: 1\n  - port: 2\n")
    assert loaded.line_of(("items", 1, "port")) == 4
    assert loaded.locate(("items", 1, "port")) == "m.yaml:4: items[1].port"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nitems:\n  - port: 1\n  - port: nope\n", "m.yaml:4: items[1].port"),
        ("name: x\nitems:\n  - port: 1\n    colour: red\n", "m.yaml:4: items[0].colour: unknown field"),
        ("items: []\n", "m.yaml:1: name: required field is missing"),
        ("name: x\nitems: [\n", "m.yaml:3:1: invalid YAML"),
        ("name: x\nname: y\nitems: []\n", "m.yaml:2: duplicate key name"),
        ("name: !!int abc\nitems: []\n", "m.yaml:1: name: cannot read value"),
    ],
)
def test_errors_are_located(text: str, expected: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_model(Outer, load_yaml(Path("m.yaml"), text))
    assert expected in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_yaml(tmp_path / "absent.yaml")


def test_several_documents_refused() -> None:
    with pytest.raises(InputError, match=r"m\.yaml:3: expected one YAML document"):
        load_yaml(Path("m.yaml"), "a: 1\n---\nb: 2\n")
