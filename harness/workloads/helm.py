"""Helm charts as workload input: ``helm template`` renders them, the objects keep their template.

Tenants that deploy with Helm have charts and values files, not rendered manifests. The chart
is rendered with the helm binary spin-harness builds from its Go module (``toolchain
ensure-tool helm``, cached and checksummed like the Kubernetes binaries), offline and with a
scratch helm home, so the user's repositories and plugins play no part. Each object remembers
the template file it came from (helm's ``# Source:`` comment) and its document index there.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from harness.errors import InputError
from harness.workloads.documents import Document, document_objects, yaml_documents
from harness.workloads.manifest import Manifest

CHART_FILE = "Chart.yaml"
_SOURCE = re.compile(r"^# Source: (\S.*?)\s*$")
#: A release name helm accepts (lowercase RFC 1123 label, at most 53 characters).
_RELEASE_BAD = re.compile(r"[^a-z0-9-]+")


def is_chart(path: Path) -> bool:
    try:
        return path.is_dir() and (path / CHART_FILE).is_file()
    except OSError as exc:  # e.g. a folder without search permission: name it, never a traceback
        raise InputError(
            f"{path}: cannot be read: {exc.strerror or exc}", hint="give the harness read access, or leave it out"
        ) from None


def release_name(chart: Path) -> str:
    """The chart's own name (``Chart.yaml``), made a valid release name: what ``.Release.Name`` renders as."""
    try:
        meta = yaml.safe_load((chart / CHART_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{chart / CHART_FILE}: cannot be read: {exc}", hint="fix the chart's Chart.yaml") from None
    name = str(meta.get("name", "")) if isinstance(meta, dict) else ""
    cleaned = _RELEASE_BAD.sub("-", (name or chart.name).lower()).strip("-")[:53].strip("-")
    return cleaned or "workloads"


def render_chart(chart: Path, values: Sequence[Path], *, helm: Path | None = None) -> list[Manifest]:
    """``helm template`` of ``chart`` with ``values`` files (in order, later ones win)."""
    for file in values:
        if not file.is_file():
            raise InputError(f"--values: {file} is not a file", hint="give a values YAML file of the chart")
    if helm is None:
        from harness.toolchain.tools import ensure_tool

        helm = ensure_tool("helm")
    args = [str(helm), "template", release_name(chart), str(chart)]
    for file in values:
        args += ["--values", str(file)]
    with tempfile.TemporaryDirectory(prefix="spin-harness-helm-") as home:
        env = dict(os.environ)
        for variable in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            env[variable] = str(Path(home) / variable.lower())
        proc = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, check=False)
    if proc.returncode != 0:
        detail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise InputError(
            f"{chart}: helm template failed:\n{detail}",
            hint="fix the chart or values helm names; vendor dependencies with 'helm dependency build'",
        )
    return rendered_objects(chart, proc.stdout)


def rendered_objects(chart: Path, output: str) -> list[Manifest]:
    """The objects of ``helm template`` output, each with its template file and document index there."""
    lines = output.splitlines()
    per_template: dict[Path, int] = {}
    objects: list[Manifest] = []
    for document in yaml_documents(chart, output):
        if document.data is None:
            continue
        template = chart / _template_of(lines, document.line)
        per_template[template] = per_template.get(template, 0) + 1
        rendered = Document(per_template[template], 0, document.data)
        objects += document_objects(template, rendered, chart=chart)
    return objects


def _template_of(lines: list[str], line: int) -> str:
    """The ``# Source: CHART/templates/x.yaml`` comment above ``line``, as a path inside the chart."""
    for text in reversed(lines[: max(line - 1, 0)]):
        match = _SOURCE.match(text)
        if match:
            return match.group(1).split("/", 1)[-1]
        if text.startswith("---"):
            break
    return "(rendered output)"
