"""Exported CI pipelines validate against the CI systems' published schemas."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from harness.ci.export import export_pipeline, slug
from harness.errors import InputError
from harness.matrix import load_matrix
from harness.versions import KubeVersion

AVAILABLE = [KubeVersion.parse(v) for v in ("v1.35.4", "v1.36.3", "v1.37.2")]
ROOT = Path(__file__).resolve().parents[2]


def vendored_schema(name: str) -> dict[str, object]:
    text = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath(f"{name}.json").read_text()
    schema: dict[str, object] = json.loads(text)
    return schema


@pytest.mark.parametrize(("fmt", "schema"), [("github", "github-workflows"), ("gitlab", "gitlab-ci")])
@pytest.mark.parametrize("matrix_file", ["smoke.yaml", "nightly.yaml"])
def test_export_validates_and_has_one_job_per_cell(fmt: str, schema: str, matrix_file: str) -> None:
    matrix = load_matrix(ROOT / "matrices" / matrix_file, AVAILABLE)
    document = yaml.safe_load(export_pipeline(matrix, f"matrices/{matrix_file}", fmt))
    jsonschema.validate(document, vendored_schema(schema))
    if fmt == "github":
        cells = [c["id"] for c in document["jobs"]["cell"]["strategy"]["matrix"]["cell"]]
    else:
        cells = document["cell"]["parallel"]["matrix"][0]["CELL"]
    assert cells == [cell.id for cell in matrix.cells]


def test_slugs_are_safe_and_distinct() -> None:
    assert slug("local:v1.35.4>v1.36.3+platform-crd@v2") == "local_v1.35.4_v1.36.3_platform-crd_v2"
    assert slug("local:v1.35.4>v1.36.3") != slug("local:v1.35.4>v1.36.3>v1.37.2")


def test_unknown_format_is_refused() -> None:
    matrix = load_matrix(ROOT / "matrices" / "smoke.yaml", AVAILABLE)
    with pytest.raises(InputError, match="unknown CI system"):
        export_pipeline(matrix, "matrices/smoke.yaml", "jenkins")
