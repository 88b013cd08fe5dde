"""Building the harness's wheel from the working tree, for the packaging tests.

setuptools writes ``build/`` and ``*.egg-info`` beside the sources it builds, so the build runs
on a copy: the files git tracks or would track (new, not ignored ones too), as they are now in
the working tree. Build dependencies come the way a user's ``pip wheel .`` gets them, through
pip's isolated build environment.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from harness import paths

ROOT = Path(__file__).resolve().parents[1]

#: The content folders a wheel carries, and where inside it: what harness.paths looks for, so a
#: setup.py that put them elsewhere fails the packaging tests.
CONTENT = tuple(paths.CONTENT)
PACKAGED = f"harness/{paths.PACKAGED}"


def source_files(root: Path = ROOT) -> list[str]:
    """Paths (relative to ``root``) of the files a clean clone with the current edits would hold."""
    listing = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(name for name in listing.split("\0") if name and (root / name).is_file())


def build_wheel(work: Path, root: Path = ROOT) -> Path:
    """Build the wheel of ``root`` from a copy under ``work``; return the ``.whl`` file."""
    source = work / "src"
    for name in source_files(root):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, source / name)
    dist = work / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(source)],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if built.returncode != 0:
        raise RuntimeError(f"pip wheel exited {built.returncode}:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}")
    (wheel,) = dist.glob("spin_harness-*.whl")
    return wheel


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())
