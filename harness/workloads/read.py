"""Workload input, whatever its shape, into objects: the one reader replay, gate and matrices share.

Tenant exports come as people have them: ``.yaml``, ``.yml`` and ``.json`` files, ``kind:
List`` documents printed by ``kubectl get -o yaml``, multi-document files with empty documents
and comments, nested folders, Helm charts with values files. An input is a file, a folder
(walked recursively, in name order), or a chart folder (one with ``Chart.yaml``, rendered by
``helm template``; a chart found inside a folder is rendered with its default values).

Nothing is skipped silently: files of other types are returned as ``ignored`` and hidden
entries (``.git``, editor files) as ``hidden``, so the caller prints them and the gate puts
them into ``summary.json`` and the verdict. What cannot be read is an ``InputError`` naming
the file and document.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.errors import InputError
from harness.workloads.documents import MANIFEST_SUFFIXES, read_manifest_file
from harness.workloads.helm import is_chart, render_chart
from harness.workloads.manifest import Manifest, WorkloadInput, WorkloadSet

#: ``(chart, values files) -> objects``; ``render_chart`` (real helm) unless a caller has its own.
ChartRenderer = Callable[[Path, Sequence[Path]], list[Manifest]]


def read_workloads(inputs: Sequence[WorkloadInput | Path], *, render: ChartRenderer | None = None) -> WorkloadSet:
    """Every object of every input, in input order, with what was not read."""
    found = WorkloadSet()
    for entry in inputs:
        entry = entry if isinstance(entry, WorkloadInput) else WorkloadInput(entry)
        try:
            one = read_input(entry, render=render)
        except OSError as exc:  # permissions and the like: name the path, never a traceback
            where = exc.filename or entry.path
            raise InputError(
                f"{where}: cannot be read: {exc.strerror or exc}", hint="give the harness read access, or leave it out"
            ) from None
        found.extend(one)
    return found


def read_input(entry: WorkloadInput, *, render: ChartRenderer | None = None) -> WorkloadSet:
    """One file, folder or chart."""
    render = render or render_chart
    path = entry.path
    if not path.exists():
        raise InputError(f"{path}: no such file or folder", hint="give a manifest file, a folder or a chart folder")
    chart = is_chart(path)
    if entry.values and not chart:
        raise InputError(
            f"{path}: values files given, but it is not a Helm chart (no Chart.yaml)",
            hint="--values applies to a chart folder; drop it for plain manifests",
        )
    found = WorkloadSet()
    if chart:
        found.manifests += render(path, entry.values)
        found.files.append(path)
    elif path.is_file():
        if path.suffix.lower() not in MANIFEST_SUFFIXES:
            raise InputError(
                f"{path}: not a manifest file ({', '.join(MANIFEST_SUFFIXES)})",
                hint="give a .yaml, .yml or .json file, a folder, or a chart folder",
            )
        found.manifests += read_manifest_file(path)
        found.files.append(path)
    else:
        _walk(path, found, render)
    return found


def with_values(paths: Sequence[Path], values: Sequence[Path], flag: str) -> list[WorkloadInput]:
    """Command-line inputs: ``values`` (``--values``, in order) go to every chart among ``paths``.

    Values given with no chart to apply them to are an error, not ignored."""
    if values and not any(is_chart(p) for p in paths):
        raise InputError(
            f"{flag}: given, but none of {', '.join(str(p) for p in paths)} is a Helm chart (a folder with Chart.yaml)",
            hint=f"drop {flag}, or name the chart folder",
        )
    for file in values:
        if not file.is_file():
            raise InputError(f"{flag}: {file} is not a file", hint="give a values YAML file of the chart")
    return [WorkloadInput(p, tuple(values) if is_chart(p) else ()) for p in paths]


def prepare_helm(inputs: Sequence[WorkloadInput], *, quiet: bool) -> None:
    """Build helm (once, into the cache) with a progress display when a chart is among ``inputs``.

    Commands call this before reading, so a first chart does not sit silent for the minutes
    a cold helm build takes; charts found inside folders use the same cached binary."""
    if not any(is_chart(entry.path) for entry in inputs):
        return
    from harness.progress import progress_display
    from harness.toolchain.tools import ensure_tool

    with progress_display("helm", quiet=quiet) as progress:
        ensure_tool("helm", progress=progress)


def _walk(top: Path, found: WorkloadSet, render: ChartRenderer) -> None:
    for root, dirs, files in os.walk(top, onerror=_unreadable):
        here = Path(root)
        dirs.sort()
        for name in list(dirs):
            if name.startswith("."):
                found.hidden.append(here / name)
                dirs.remove(name)
            elif is_chart(here / name):
                found.manifests += render(here / name, ())
                found.files.append(here / name)
                dirs.remove(name)
        for name in sorted(files):
            path = here / name
            if name.startswith("."):
                found.hidden.append(path)
            elif path.suffix.lower() in MANIFEST_SUFFIXES:
                found.manifests += read_manifest_file(path)
                found.files.append(path)
            else:
                found.ignored.append(path)


def _unreadable(exc: OSError) -> None:
    raise InputError(f"{exc.filename}: cannot be read: {exc.strerror or exc}") from None
