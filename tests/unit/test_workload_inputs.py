"""Reading workload input in every shape people have it: one reader for replay, gate and matrices.

Pure file handling, on files written by the tests: ``.yaml``/``.yml``/``.json``, ``kind: List``
documents, multi-document files with empty documents and comments, nested and hidden folders.
Every object keeps its file and document index; what cannot be read names file and document;
what is not read is returned, never dropped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import InputError
from harness.report.verdict import render_verdict
from harness.run.summary import Summary
from harness.workloads.helm import rendered_objects
from harness.workloads.manifest import WorkloadInput
from harness.workloads.read import read_input, read_workloads, with_values
from harness.workloads.replay import applyable, ordered


def config_map(name: str, namespace: str = "tenant-a", **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_folder_mixing_every_shape_is_read_with_files_and_documents(tmp_path: Path) -> None:
    top = tmp_path / "tenants"
    write(
        top / "a-multi.yaml",
        "# tenant a\n---\n" + yaml.safe_dump(config_map("one")) + "---\n# nothing here\n---\n"
        "---\n" + yaml.safe_dump(config_map("two")) + "---\n",
    )
    listing = {"apiVersion": "v1", "kind": "List", "items": [config_map("l0"), config_map("l1")], "metadata": {}}
    write(top / "b-list.yml", yaml.safe_dump(listing))
    write(top / "nested" / "deeper" / "c.json", json.dumps(config_map("json")))
    write(top / "nested" / "d-list.json", json.dumps(listing | {"items": [config_map("jl")]}))
    write(top / "README.md", "notes\n")
    write(top / "nested" / "kustomization.txt", "x\n")
    write(top / ".git" / "config", "[core]\n")
    write(top / ".hidden.yaml", "not: read\n")
    found = read_workloads([top])

    where = [
        (m.source.relative_to(top).as_posix(), m.document, m.item, m.body["metadata"]["name"]) for m in found.manifests
    ]
    assert where == [
        ("a-multi.yaml", 1, None, "one"),  # the comment before the first '---' is no document
        ("a-multi.yaml", 4, None, "two"),
        ("b-list.yml", 1, 0, "l0"),
        ("b-list.yml", 1, 1, "l1"),
        ("nested/d-list.json", 1, 0, "jl"),
        ("nested/deeper/c.json", 1, None, "json"),
    ]
    assert found.manifests[1].line == 13
    assert found.manifests[1].where == f"{top / 'a-multi.yaml'} document 4 (line 13)"
    assert found.manifests[3].where == f"{top / 'b-list.yml'} document 1 (line 1) items[1]"
    assert found.ignored == [top / "README.md", top / "nested" / "kustomization.txt"]
    assert sorted(found.hidden) == [top / ".git", top / ".hidden.yaml"]
    assert found.to_json()["ignored"] == [str(top / "README.md"), str(top / "nested" / "kustomization.txt")]
    assert found.to_json()["hidden"] == 2
    assert any("README.md" in note for note in found.notes())


def test_a_single_file_and_an_export_folder_are_inputs_too(tmp_path: Path) -> None:
    file = write(tmp_path / "one.yml", yaml.safe_dump(config_map("x")))
    assert [m.body["metadata"]["name"] for m in read_input(WorkloadInput(file)).manifests] == ["x"]
    export = tmp_path / "export"
    write(export / "index.yaml", yaml.safe_dump({"apiVersion": "spin-harness/v1", "kind": "WorkloadExport"}))
    write(
        export / "t" / "namespace.yaml",
        yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}}),
    )
    write(export / "t" / "ConfigMap-c.yaml", yaml.safe_dump(config_map("c", "t")))
    found = read_workloads([export])
    assert [m.body["kind"] for m in ordered(found.manifests)] == ["Namespace", "ConfigMap"]
    assert found.ignored == [] and found.hidden == []


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True), max_size=12), as_json=st.booleans())
def test_a_list_of_n_items_round_trips(
    tmp_path_factory: pytest.TempPathFactory, names: list[str], as_json: bool
) -> None:
    items = [config_map(name, value=str(i)) for i, name in enumerate(names)]
    listing = {"apiVersion": "v1", "kind": "List", "items": items}
    directory = tmp_path_factory.mktemp("list")
    file = directory / ("dump.json" if as_json else "dump.yaml")
    file.write_text(json.dumps(listing) if as_json else yaml.safe_dump(listing))
    found = read_workloads([file]).manifests
    assert [m.body for m in found] == items
    assert [m.item for m in found] == list(range(len(items)))
    assert {m.document for m in found} <= {1}


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=st.lists(st.sampled_from(["object", "empty", "comment"]), max_size=10))
def test_documents_are_counted_as_written_empty_ones_included(
    tmp_path_factory: pytest.TempPathFactory, layout: list[str]
) -> None:
    parts = []
    for index, shape in enumerate(layout):
        if shape == "object":
            parts.append(yaml.safe_dump(config_map(f"doc-{index + 1}")))
        elif shape == "comment":
            parts.append("# only a comment\n")
        else:
            parts.append("")
    file = tmp_path_factory.mktemp("multi") / "multi.yaml"
    file.write_text("".join(f"---\n{part}" for part in parts))
    found = read_workloads([file]).manifests
    expected = [i + 1 for i, shape in enumerate(layout) if shape == "object"]
    assert [m.document for m in found] == expected
    assert [m.body["metadata"]["name"] for m in found] == [f"doc-{i}" for i in expected]


def test_typed_lists_from_the_api_give_their_items_apiversion_and_kind(tmp_path: Path) -> None:
    item = {"metadata": {"name": "web", "namespace": "t"}, "spec": {"replicas": 1}}
    file = write(tmp_path / "d.json", json.dumps({"apiVersion": "apps/v1", "kind": "DeploymentList", "items": [item]}))
    [manifest] = read_workloads([file]).manifests
    assert (manifest.body["apiVersion"], manifest.body["kind"]) == ("apps/v1", "Deployment")


def error(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        read_workloads([path])
    return str(caught.value)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.yaml", "---\n{}\n---\n# c\n---\nkind: [\n", "7:1: document 3: invalid YAML"),
        ("bad.json", '{"apiVersion": "v1",\n "kind": }', "2:10: document 1: invalid JSON"),
        (
            "nokind.yaml",
            "---\napiVersion: v1\nmetadata: {name: x}\n",
            "2: document 1: not a Kubernetes object: kind missing",
        ),
        ("scalar.yml", "just text\n", "1: document 1: a string, not a Kubernetes object"),
        ("noname.yaml", "apiVersion: v1\nkind: ConfigMap\n", "1: document 1: ConfigMap has no metadata.name"),
        (
            "list.yaml",
            "apiVersion: v1\nkind: List\nitems:\n"
            "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {kind: Pod}\n",
            "1: document 1 items[1]: not a Kubernetes object: apiVersion missing",
        ),
        ("items.yaml", "apiVersion: v1\nkind: List\nitems: {a: 1}\n", "1: document 1: List.items is not a list"),
        ("array.json", "[1, 2]", "1: document 1: a list, not a Kubernetes object"),
    ],
)
def test_what_cannot_be_read_names_file_document_and_line(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = write(tmp_path / "in" / name, text)
    message = error(tmp_path / "in")
    assert message.startswith(f"{path}:{expected}"), message
    assert "(" in message.splitlines()[-1], "every error says what to do"


def test_bad_inputs_and_values_without_a_chart_are_errors(tmp_path: Path) -> None:
    assert "no such file or folder" in error(tmp_path / "missing")
    other = write(tmp_path / "notes.txt", "x\n")
    assert "not a manifest file" in error(other)
    values = write(tmp_path / "values.yaml", "a: 1\n")
    with pytest.raises(InputError, match="values files given, but it is not a Helm chart"):
        read_input(WorkloadInput(tmp_path, (values,)))
    with pytest.raises(InputError, match="--values: given, but none of"):
        with_values([tmp_path], [values], "--values")
    write(tmp_path / "chart" / "Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n")
    with pytest.raises(InputError, match=r"nope\.yaml is not a file"):
        with_values([tmp_path / "chart"], [tmp_path / "nope.yaml"], "--values")
    inputs = with_values([tmp_path / "chart", other], [values], "--values")
    assert inputs == [WorkloadInput(tmp_path / "chart", (values,)), WorkloadInput(other)]


def test_rendered_chart_output_maps_objects_to_their_templates() -> None:
    output = (
        "---\n# Source: shop/templates/cm.yaml\n" + yaml.safe_dump(config_map("a"))
        + "---\n# Source: shop/templates/cm.yaml\n" + yaml.safe_dump(config_map("b"))
        + "---\n# Source: shop/charts/db/templates/svc.yaml\n"
        + yaml.safe_dump({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"}})
    )  # fmt: skip
    chart = Path("/charts/shop")
    found = rendered_objects(chart, output)
    assert [(m.source, m.document, m.chart) for m in found] == [
        (chart / "templates/cm.yaml", 1, chart),
        (chart / "templates/cm.yaml", 2, chart),
        (chart / "charts/db/templates/svc.yaml", 1, chart),
    ]
    assert found[2].where == f"{chart}/charts/db/templates/svc.yaml document 1 rendered from chart {chart}"


def test_server_bookkeeping_is_dropped_before_apply_and_nothing_else() -> None:
    live = config_map("x") | {"status": {"phase": "x"}}
    live["metadata"] |= {"uid": "u", "resourceVersion": "7", "managedFields": [], "labels": {"a": "b"}}
    assert applyable(live) == config_map("x") | {"metadata": config_map("x")["metadata"] | {"labels": {"a": "b"}}}
    clean = config_map("y")
    assert applyable(clean) is clean


def test_input_not_read_shows_in_the_summary_and_the_verdict(tmp_path: Path) -> None:
    write(tmp_path / "in" / "cm.yaml", yaml.safe_dump(config_map("x")))
    write(tmp_path / "in" / "notes.md", "x\n")
    write(tmp_path / "in" / ".git" / "HEAD", "x\n")
    summary = Summary(matrix="m.yaml", workload_inputs=read_workloads([tmp_path / "in"]).to_json())
    data = summary.to_json()
    assert data["workload_inputs"]["ignored"] == [str(tmp_path / "in" / "notes.md")]
    text = render_verdict(data)
    assert "INPUT NOT READ:" in text and "notes.md (not .yaml/.yml/.json)" in text and "1 hidden" in text
    assert "### Input not read" in render_verdict(data, markdown=True)
    assert "INPUT NOT READ" not in render_verdict(Summary(matrix="m.yaml").to_json())


def test_merged_reports_keep_the_account_of_input_not_read(tmp_path: Path) -> None:
    from harness.report.merge import merge_reports

    inputs = {"objects": 1, "files": ["a.yaml"], "ignored": ["notes.md"], "hidden": 0}
    parts = []
    for name, data in (("one", inputs), ("two", None)):
        summary = Summary(matrix="m.yaml", workload_inputs=data)
        parts.append(tmp_path / name)
        summary.write(parts[-1])
    merged = json.loads((merge_reports(parts, tmp_path / "merged") / "summary.json").read_text())
    assert merged["workload_inputs"] == inputs


def test_a_path_the_system_cannot_even_look_at_is_an_input_error_naming_it(tmp_path: Path) -> None:
    # A name too long for the file system makes stat() fail with ENAMETOOLONG, which
    # Path.exists() does not swallow: the same path a permission error takes (root bypasses those).
    unreadable = tmp_path / ("x" * 5000)
    with pytest.raises(InputError, match="cannot be read"):
        read_workloads([unreadable])
