"""Build hook: wheels carry the test content inside the ``harness`` package.

``scenarios/``, ``matrices/``, ``platform/`` and ``playbooks/`` stay at the top of the
repository, where people edit them and the docs point. An installed harness needs them too,
so ``build_py`` copies each into ``harness/_data/<folder>`` of the build directory (never of
the source tree), and ``harness.paths`` finds them there through ``importlib.resources``.

Why a hook rather than declaring the folders as packages (``package-dir`` mapping them
under ``harness``): setuptools then needs every package listed by hand, since
``packages.find`` cannot see folders that exist only through a mapping, so each new
``harness`` subpackage would have to be added here too; and the scenario folders hold
``checks.py`` files and hyphenated names that setuptools would treat as modules and
packages. Editable installs skip the copy: ``harness.paths`` reads the checkout's own
folders there, so an edit takes effect without reinstalling.

Everything else about the package is declared in ``pyproject.toml``; the source
distribution takes the folders along through ``MANIFEST.in``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import FileError

CONTENT = ("scenarios", "matrices", "platform", "playbooks")
PACKAGED = Path("harness", "_data")
LEFT_OUT = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class BuildWithContent(build_py):
    """``build_py`` that also copies the content folders into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        here = Path(__file__).resolve().parent
        for folder in CONTENT:
            source = here / folder
            if not source.is_dir():
                raise FileError(f"{source}: missing; the wheel must carry it (is MANIFEST.in grafting it?)")
            target = Path(self.build_lib) / PACKAGED / folder
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target, ignore=LEFT_OUT)


setup(cmdclass={"build_py": BuildWithContent})
