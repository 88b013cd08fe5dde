"""Products built with a dependency trimmed: one file of a module replaced, from a copy of the module.

Where upstream offers no build tag to leave out what spin-harness never runs (Traefik's ACME DNS
providers, ``pinned.py``), the wrapper module ``replace``s the dependency with a copy whose one
file is rewritten. ``go build -overlay`` would be simpler, but it refuses files in the module
cache.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.toolchain import goproxy
from harness.toolchain.goenv import process_env
from harness.toolchain.pinned import SourceTrim
from harness.toolchain.sources import ProgressFn, SourceUnavailable

#: Runs ``go ARGS`` in a folder, raising ``SourceUnavailable`` when it fails.
GoRunner = Callable[[list[str], Path], None]


def trim_modules(trims: Sequence[SourceTrim], wrapper: Path, go: GoRunner, progress: ProgressFn) -> None:
    """Build ``trims``' modules from copies with their file replaced (``replace`` in the wrapper).

    ``go build -overlay`` refuses files in the module cache, so the module is copied: the
    version the wrapper's module graph selects, from the module cache.
    """
    replaces: list[str] = []
    for trim in trims:
        go(["mod", "download", trim.module], wrapper)
        listed = subprocess.run(
            [goproxy.go_binary(), "list", "-m", "-f", "{{.Dir}}", trim.module],
            cwd=wrapper,
            env=process_env(None),
            capture_output=True,
            text=True,
            check=False,
        )
        source = Path(listed.stdout.strip())
        if listed.returncode != 0 or not (source / trim.path).is_file():
            raise SourceUnavailable(
                f"build: {trim.module}: no {trim.path} to build without "
                f"({listed.stderr.strip()[-300:] or 'the selected version lacks the file'})"
            )
        if f"replace {trim.module} " in (wrapper / "go.mod").read_text():
            raise SourceUnavailable(f"build: the wrapper already replaces {trim.module}: cannot trim it")
        copy = wrapper / "trimmed" / trim.module.replace("/", "_")
        remove_tree(copy)
        # The module cache is read-only: copy file contents only, then make the folders writable.
        shutil.copytree(source, copy, copy_function=shutil.copyfile)
        for folder, _, _ in os.walk(copy):
            os.chmod(folder, 0o755)
        (copy / trim.path).write_text(trim.content)
        replaces.append(f"replace {trim.module} => ./{copy.relative_to(wrapper)}")
        progress(f"building {trim.why}")
    gomod = wrapper / "go.mod"
    gomod.write_text(gomod.read_text() + "\n".join(replaces) + "\n")


def remove_tree(path: Path) -> None:
    """``rm -rf``, read-only folders included (copies from the module cache may be read-only)."""

    def writable_then_retry(function: Any, name: str, _: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), 0o755)
            os.chmod(name, 0o755)
            function(name)

    if path.exists():
        shutil.rmtree(path, onerror=writable_then_retry)  # onexc from Python 3.12 on
