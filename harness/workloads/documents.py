"""One manifest file (or a rendered chart's output) into Kubernetes objects, each with its document.

YAML files may hold many ``---``-separated documents, empty ones and comment-only ones among
them; every document counts in the index (so "document 3" is the third one a person counts in
the file), empty ones simply yield no object. JSON files hold one document. A ``List`` (what
``kubectl get -o yaml|json`` prints) or a typed list (``DeploymentList``, from the API) yields
its items, each remembering its position. Anything that is not a Kubernetes object is an
``InputError`` reading ``file:line: document N: problem`` (the line when the parser knows it;
editors open ``file:line``), with the fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import InputError
from harness.workloads.manifest import Manifest

#: File types read as manifests; everything else in a folder is listed as ignored.
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

#: ``spin-harness export`` writes this index beside the manifests; it describes them and is no object.
EXPORT_INDEX = ("spin-harness/v1", "WorkloadExport")


@dataclass(frozen=True)
class Document:
    """One parsed document: its 1-based index, the line it starts on, and its data (None when empty)."""

    index: int
    line: int
    data: Any


class _Loader(yaml.SafeLoader):
    """SafeLoader: plain data only, never Python objects."""


def read_manifest_file(path: Path) -> list[Manifest]:
    """Every object in one ``.yaml``/``.yml``/``.json`` file, in file order."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text", hint="save it as UTF-8, or move it out of the workloads") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    documents = json_documents(path, text) if path.suffix == ".json" else yaml_documents(path, text)
    return [m for document in documents for m in document_objects(path, document)]


def yaml_documents(path: Path, text: str) -> list[Document]:
    """The documents of a YAML stream; a syntax error names its document and line."""
    loader = _Loader(text)
    documents: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            line = node.start_mark.line + 1 if node is not None else 0
            data = loader.construct_document(node) if node is not None else None
            documents.append(Document(len(documents) + 1, line, data))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        place = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
        raise InputError(
            f"{place}: document {len(documents) + 1}: invalid YAML: {problem}",
            hint="fix the YAML there (indentation, quoting, a missing '---' between documents)",
        ) from None
    finally:
        loader.dispose()
    return documents


def json_documents(path: Path, text: str) -> list[Document]:
    """A JSON file's one document; an empty file has none."""
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}:{exc.lineno}:{exc.colno}: document 1: invalid JSON: {exc.msg}",
            hint="fix the JSON there; a .json file holds one object (use kind: List for several)",
        ) from None
    return [Document(1, 1, data)]


def document_objects(path: Path, document: Document, *, chart: Path | None = None) -> list[Manifest]:
    """The objects of one document: none when empty, its items when a List, else itself."""
    data = document.data
    if data is None:
        return []
    place = f"{path}:{document.line}" if document.line else str(path)
    where = f"{place}: document {document.index}"
    if isinstance(data, dict) and (data.get("apiVersion"), data.get("kind")) == EXPORT_INDEX:
        return []
    body = _object(data, where)
    if not _is_list(body):
        return [Manifest(path, body, document.index, document.line, chart=chart)]
    items = body.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise InputError(f"{where}: {body['kind']}.items is not a list", hint="items must be a list of objects")
    objects = []
    item_kind = body["kind"].removesuffix("List") if body["kind"] != "List" else None
    for index, item in enumerate(items):
        if isinstance(item, dict) and item_kind:
            # The API's typed lists leave apiVersion and kind out of their items.
            item = {"apiVersion": body["apiVersion"], "kind": item_kind, **item}
        objects.append(
            Manifest(path, _object(item, f"{where} items[{index}]"), document.index, document.line, index, chart)
        )
    return objects


def _is_list(body: dict[str, Any]) -> bool:
    kind = str(body["kind"])
    return kind == "List" or (kind.endswith("List") and isinstance(body.get("items"), list))


def _object(data: Any, where: str) -> dict[str, Any]:
    """``data`` checked to be a Kubernetes object (or List): a mapping with apiVersion, kind and a name."""
    if not isinstance(data, dict):
        raise InputError(
            f"{where}: a {_type_name(data)}, not a Kubernetes object",
            hint="each document must be a mapping with apiVersion, kind and metadata.name",
        )
    missing = [key for key in ("apiVersion", "kind") if not data.get(key) or not isinstance(data.get(key), str)]
    if missing:
        raise InputError(
            f"{where}: not a Kubernetes object: {' and '.join(missing)} missing",
            hint="add apiVersion and kind (as kubectl get -o yaml prints them), or move the file out of the workloads",
        )
    if _is_list(data):
        return data
    metadata = data.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        raise InputError(
            f"{where}: {data['kind']} has no metadata.name",
            hint="give it a name (generateName cannot be replayed idempotently)",
        )
    return data


def _type_name(data: Any) -> str:
    if isinstance(data, list):
        return "list"
    if isinstance(data, str):
        return "string"
    return type(data).__name__
