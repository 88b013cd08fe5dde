"""The image that runs the platform's admission webhook as a pod: Debian's Python and this harness.

Nothing can be pulled, so there is no ``python:3.11`` base: the root is Debian's ``python3``
from debootstrap (cached like the node root), and on top go the harness's own modules and
the distributions they import, copied from the environment the harness runs in. So the pod
runs exactly the code and library versions the tests on the host run, and building needs no
network beyond the Debian mirror. That only works when the host's Python is the one Debian
ships in the image's suite (compiled modules such as cryptography's are built per Python
version): 3.11 gives bookworm, 3.13 trixie; any other is refused with that reason.

Modules are byte-compiled on the host with unchecked hashes (the root filesystem is read-only
in the pod, and a cold import of the Kubernetes client takes seconds). The tag is a hash of
the root, the distributions' versions and the sources of the harness modules the webhook can
import, so a change to those makes a new image and any other change finds the one built
before in the engine. A build removes all but the few newest older tags.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import importlib.util
import json
import py_compile
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TypeVar

from filelock import FileLock
from python_on_whales.exceptions import DockerException

import harness
from harness.errors import ImageError
from harness.images import engine, layers, rootfs
from harness.paths import cache_root
from harness.progress import ProgressFn, no_progress, phase

REPOSITORY = "spin-harness.local/admission-webhook"
ENTRY_MODULE = "harness.webhooks.serve_in_pod"
SITE = "/opt/spin-harness/site"
#: How many webhook images, and staged site-packages, are kept beside the current one: the newest
#: others (images by when they were built, since the engine records no use; sites by last use).
OLDER_KEPT = 2
#: Bumped when the assembly below changes in a way the inputs' hashes cannot see.
_FORMAT = "2"
#: Parts of a copied distribution the webhook never imports, left out of the image (folders, with
#: a trailing slash): the Kubernetes client's asyncio twin, a second copy of every API and model
#: class, 41 MB of source and 66 MB of the image with its byte code. Nothing in the synchronous
#: client imports it, and a test imports the entrypoint to check that it is not loaded.
UNUSED_PARTS = ("kubernetes/aio/",)
#: The Debian suite whose ``python3`` is each host Python (wheels are per Python version).
SUITE_OF_PYTHON = {(3, 11): "bookworm", (3, 13): "trixie"}

_T = TypeVar("_T")


@dataclass(frozen=True)
class Distribution:
    """One installed distribution the webhook imports, and where its files are."""

    name: str
    version: str
    files: tuple[Path, ...]
    root: Path

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


def python_root(python: tuple[int, int] | None = None) -> rootfs.DebianRoot:
    """The Debian root with the same Python minor version as the host's (or ``python``)."""
    major, minor = python or (sys.version_info[0], sys.version_info[1])
    suite = SUITE_OF_PYTHON.get((major, minor))
    if suite is None:
        supported = ", ".join(f"{a}.{b} ({s})" for (a, b), s in SUITE_OF_PYTHON.items())
        raise ImageError(
            f"the webhook image copies this harness's packages into Debian's Python, which must be the host's "
            f"Python {major}.{minor}; Debian has {supported}",
            hint="run the harness on one of those Python versions to build the webhook image",
        )
    return rootfs.debian_root(suite, ("python3",))


#: Printed by a fresh interpreter: the top-level non-stdlib modules the entrypoint imports.
_IMPORTED = f"""
import json, sys
stdlib = set(sys.stdlib_module_names)
# Forget what .pth hooks imported at start-up: the webhook needs a module only if it imports it.
for name in [m for m in sys.modules if m.split(".")[0] not in stdlib]:
    del sys.modules[name]
import {ENTRY_MODULE}
names = {{m.split(".")[0] for m in sys.modules}} - stdlib
print(json.dumps(sorted(names)))
"""


@functools.cache
def runtime_distributions() -> tuple[Distribution, ...]:
    """The distributions the entrypoint imports, found by importing it in a fresh interpreter."""
    proc = subprocess.run([sys.executable, "-c", _IMPORTED], capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise ImageError(f"importing {ENTRY_MODULE} failed: {proc.stderr.strip()[-500:]}")
    modules = json.loads(proc.stdout)
    owners = metadata.packages_distributions()
    names = sorted({dist for module in modules for dist in owners.get(module, [])})
    found: list[Distribution] = []
    for name in names:
        dist = metadata.distribution(name)
        if dist.metadata["Name"] in ("spin-harness",):
            continue  # the harness itself is copied from its sources
        if dist.files is None:
            raise ImageError(
                f"{name} {dist.version} is installed without a file list (RECORD), so the webhook image cannot copy it",
                hint=f"reinstall it with pip: python3 -m pip install --force-reinstall {name}=={dist.version}",
            )
        files = tuple(Path(str(f)) for f in dist.files)
        found.append(Distribution(dist.metadata["Name"], dist.version, files, Path(str(dist.locate_file("")))))
    return tuple(found)


@functools.cache
def _harness_sources() -> list[tuple[str, Path]]:
    """(path under the site directory, host file) for each harness module the entrypoint may import.

    Read from the sources rather than by importing: an import statement anywhere in a reached
    module counts, one inside a function too, so a module imported only when a request comes
    is in the image; so is every package above a reached module. A change to any other module
    (the runner, the reports) leaves the tag, and so the image, as it was.
    """
    top = Path(harness.__file__).parent.parent
    found: dict[str, Path] = {}
    pending = [ENTRY_MODULE]
    while pending:
        module = pending.pop()
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            path = None if name in found else _module_file(top, name)
            if path is None:
                continue
            found[name] = path
            pending.extend(_imported_harness_modules(path, name))
    return sorted((str(path.relative_to(top)), path) for path in found.values())


def _module_file(top: Path, module: str) -> Path | None:
    """The source of ``module`` under ``top``: its package's ``__init__.py`` or its own file."""
    base = top.joinpath(*module.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def _imported_harness_modules(path: Path, module: str) -> list[str]:
    """Every ``harness`` module (or name that may be one) ``path`` imports, at any depth."""
    is_package = path.name == "__init__.py"
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module if is_package else module.rpartition(".")[0]
                base = importlib.util.resolve_name("." * node.level + base, package)
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]  # a submodule, when it is one
    return [name for name in names if name == "harness" or name.startswith("harness.")]


@functools.cache
def webhook_image_reference() -> str:
    """The tag of the webhook image for this harness's code and environment (built or not)."""
    root = python_root()
    digest = hashlib.sha256(f"{_FORMAT}\n{root.key}\n".encode())
    for dist in runtime_distributions():
        digest.update(f"{dist.pin}\n".encode())
    for name, path in _harness_sources():
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return f"{REPOSITORY}:{digest.hexdigest()[:12]}"


def ensure_webhook_image(progress: ProgressFn = no_progress) -> str:
    """The webhook image in the local engine: found by its tag, or built now (locked for workers)."""
    reference = webhook_image_reference()
    if engine.image_present(reference):
        return reference
    docker = engine.require_engine()
    with FileLock(str(cache_root() / "images" / "webhook-image.lock")):
        if engine.image_present(reference):
            return reference
        root_tar = rootfs.ensure_root(python_root(), progress=progress)
        site = _ensure_site(runtime_distributions(), progress)
        with tempfile.TemporaryDirectory(prefix="webhook-image-", dir=layers.work_root()) as scratch:
            with phase(progress, f"layer of {reference}: the harness's modules over {root_tar.name}"):
                staged = Path(scratch) / "harness-site"
                _stage(staged, _harness_sources())
                copies = {f"{SITE}/{p.relative_to(site)}": p for p in _files(site)}
                copies.update({f"{SITE}/{p.relative_to(staged)}": p for p in _files(staged)})
                tar = layers.write_binary_root(Path(scratch) / "webhook.tar", {}, base=root_tar, copies=copies)
            with phase(progress, f"image {reference} ({len(copies)} files over {root_tar.name})"):
                docker.image.import_(
                    tar,
                    tag=reference,
                    changes=[
                        f'ENTRYPOINT ["python3", "-m", "{ENTRY_MODULE}"]',
                        f"ENV PYTHONPATH={SITE} PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1",
                        "USER 65534:65534",
                        f"LABEL {engine.OWNER_LABEL}=images",
                    ],
                )
        _remove_older(reference)
    return reference


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def _ensure_site(dists: Iterable[Distribution], progress: ProgressFn) -> Path:
    """The distributions' files with byte code, staged once per set of versions (shared, cached)."""
    dists = list(dists)
    key = hashlib.sha256("\n".join([_FORMAT, sys.version, *(d.pin for d in dists)]).encode()).hexdigest()[:12]
    site = cache_root() / "images" / "webhook-site" / key
    if (site / ".complete").is_file():
        (site / ".complete").touch()  # used now: the last to go when older sites are removed
        return site
    partial = site.with_name(key + ".part")
    shutil.rmtree(partial, ignore_errors=True)
    count = 0
    with phase(progress, f"webhook site packages: copying and byte-compiling {len(dists)} distributions"):
        for dist in dists:
            files = [
                (str(f), dist.root / f)
                for f in dist.files
                if not str(f).startswith("..")
                and "__pycache__" not in f.parts
                and f.suffix != ".pyc"
                and not str(f).startswith(UNUSED_PARTS)
            ]
            count += _stage(partial, [(name, path) for name, path in files if path.is_file()])
    (partial / ".complete").write_text("\n".join(d.pin for d in dists) + "\n")
    shutil.rmtree(site, ignore_errors=True)
    partial.rename(site)
    _remove_other_sites(site)
    progress(f"webhook site packages: {len(dists)} distributions, {count} files")
    return site


def _stage(directory: Path, files: Iterable[tuple[str, Path]]) -> int:
    """Copy ``files`` under ``directory`` and byte-compile the modules beside them (unchecked hash)."""
    count = 0
    for name, source in files:
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        if source.stat().st_mode & 0o111:
            target.chmod(0o755)
        count += 1
        if target.suffix == ".py":
            cached = target.parent / "__pycache__" / f"{target.stem}.{sys.implementation.cache_tag}.pyc"
            # A module this Python cannot compile (a py2 leftover) stays source only.
            with contextlib.suppress(py_compile.PyCompileError):
                py_compile.compile(
                    str(target),
                    cfile=str(cached),
                    dfile=f"{SITE}/{name}",
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
    return count


def _remove_older(current: str) -> None:
    """Drop the webhook images of earlier code but the newest few: each is a few hundred MB."""
    docker = engine.docker_client()
    others = [image for image in docker.image.list(REPOSITORY) if current not in image.repo_tags]
    for image in _all_but_newest(others, OLDER_KEPT, key=lambda image: image.created.timestamp()):
        for tag in image.repo_tags:
            with contextlib.suppress(DockerException):  # in use, or removed by another worker
                docker.image.remove(tag)


def _all_but_newest(items: list[_T], keep: int, key: Callable[[_T], float]) -> list[_T]:
    """``items`` less the ``keep`` newest by ``key``."""
    return sorted(items, key=key, reverse=True)[keep:]


def _remove_other_sites(site: Path) -> None:
    """Remove the staged packages of other environments (about 100 MB each) but the newest few.

    A few are kept, since a developer's environment and a test environment with newer pins
    take turns. A site left half-staged goes; this runs under the image lock, so no other
    worker is staging it.
    """
    staged: list[Path] = []
    half_staged: list[Path] = []
    for other in (d for d in site.parent.iterdir() if d != site and d.is_dir()):
        (staged if (other / ".complete").is_file() else half_staged).append(other)
    for other in half_staged + _all_but_newest(staged, OLDER_KEPT, key=_last_used):
        shutil.rmtree(other, ignore_errors=True)


def _last_used(site: Path) -> float:
    """When ``site`` was last staged or used (its ``.complete`` is touched on every use)."""
    try:
        return (site / ".complete").stat().st_mtime
    except OSError:  # removed by a build of another environment meanwhile
        return 0.0
