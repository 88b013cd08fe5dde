"""Where the harness keeps things: its caches, and the test content it ships.

Two roots outside the repository, both overridable by environment so tests and parallel CI
jobs can isolate them: ``SPIN_HARNESS_CACHE`` holds the toolchain (shared, expensive to
rebuild) and ``SPIN_HARNESS_STATE`` holds cluster directories (per run, cheap,
garbage-collected).

The test content (``scenarios/``, ``matrices/``, ``platform/``, ``playbooks/``) lives at the
top of the repository, where people edit it; wheels carry a copy inside the package, under
``harness/_data/`` (``setup.py`` puts it there at build time). This module is the one place
that knows where each folder is, in this order:

1. its environment variable (``SPIN_HARNESS_SCENARIOS``, ``SPIN_HARNESS_MATRICES``,
   ``SPIN_HARNESS_PLATFORM``, ``SPIN_HARNESS_PLAYBOOKS``), for content kept elsewhere;
2. the checkout the ``harness`` package is imported from (an editable install, or
   ``PYTHONPATH`` pointing at a working tree), so edits there take effect without a rebuild;
3. the copy installed with the package, found through ``importlib.resources``.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

from harness.errors import HarnessError

#: Package-relative folder (inside ``harness``) that a wheel carries the test content in.
PACKAGED = "_data"

#: The content folders the wheel carries, each with the variable that overrides it.
CONTENT = {
    "scenarios": "SPIN_HARNESS_SCENARIOS",
    "matrices": "SPIN_HARNESS_MATRICES",
    "platform": "SPIN_HARNESS_PLATFORM",
    "playbooks": "SPIN_HARNESS_PLAYBOOKS",
}


def cache_root() -> Path:
    """Toolchain cache root: built or downloaded binaries per version."""
    env = os.environ.get("SPIN_HARNESS_CACHE")
    return Path(env).expanduser() if env else user_cache_root()


def user_cache_root() -> Path:
    """The user's own spin-harness cache folder, whatever ``SPIN_HARNESS_CACHE`` says."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "spin-harness"


def state_root() -> Path:
    """Cluster state root: one directory per cluster, readable by other processes."""
    env = os.environ.get("SPIN_HARNESS_STATE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "spin-harness"


def scenarios_dir() -> Path:
    """Scenario directories, one per scenario (``<name>/scenario.yaml``)."""
    return _content("scenarios")


def matrices_dir() -> Path:
    """The shipped upgrade matrices (``smoke.yaml``, ``nightly.yaml``, ``gate.yaml``)."""
    return _content("matrices")


def platform_dir() -> Path:
    """Platform component manifests, ``<component>/<version>/``."""
    return _content("platform")


def playbooks_dir() -> Path:
    """The ansible playbooks an upgrade hop runs."""
    return _content("playbooks")


def checkout_root() -> Path | None:
    """The source tree the ``harness`` package is imported from, or None when it is installed.

    A source tree is recognised by its ``pyproject.toml`` beside the package; an installed
    package sits in ``site-packages``, which has none.
    """
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None


def packaged_dir(folder: str) -> Path:
    """The copy of a content folder installed inside the package (it may be absent in a checkout)."""
    resource = resources.files("harness").joinpath(PACKAGED, folder)
    # A package imported from a zip file has no directory to hand to ansible, jinja or kubectl.
    if not isinstance(resource, Path):
        raise HarnessError(
            f"spin-harness is imported from an archive ({resource}): its {folder}/ cannot be read as files",
            hint=f"install it with pip, or set {CONTENT[folder]} to a copy of the folder",
        )
    return resource


def resolve_matrix_argument(given: str) -> Path:
    """The matrix file a command line names: the file itself if it exists, else the shipped one.

    ``spin-harness run matrices/smoke.yaml`` then works from any directory, an installed
    harness reading the matrix it carries. Only a bare file name or ``matrices/<name>`` falls
    back, so a typo in a path of one's own is reported as missing rather than swapped for a
    shipped matrix. The fallback is announced on stderr, since the file read is not the one named.
    """
    path = Path(given)
    if path.exists() or path.parent not in (Path("."), Path("matrices")):
        return path
    shipped = matrices_dir() / path.name
    if not shipped.is_file():
        return path
    print(f"spin-harness: no {given} here; using the shipped matrix {shipped}", file=sys.stderr)
    return shipped


def _content(folder: str) -> Path:
    env = os.environ.get(CONTENT[folder])
    if env:
        return Path(env).expanduser()
    checkout = checkout_root()
    if checkout is not None and (checkout / folder).is_dir():
        return checkout / folder
    return packaged_dir(folder)
