"""Toolchain source: binaries a user already has in a directory.

Air-gapped sites often keep vetted binaries on a shared filesystem. The directory may hold the
binaries flat (``DIR/kube-apiserver``) or per version (``DIR/v1.36.3/kube-apiserver``); a
per-version directory wins, so one tree can serve several versions. Versions are checked by
the caller after copying (``--version`` output), so a wrong binary is refused, not run.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from harness.toolchain.components import Component, ProductBuild
from harness.toolchain.sources import ProgressFn, SourceUnavailable


class DirectorySource:
    name = "dir"

    def __init__(self, root: Path) -> None:
        self.root = root

    def provide(
        self,
        build: ProductBuild,
        components: Sequence[Component],
        dest: Path,
        progress: ProgressFn,
    ) -> None:
        candidates = [self.root / build.version, self.root / build.version.removeprefix("v"), self.root]
        for component in components:
            found = next((d / component.value for d in candidates if (d / component.value).is_file()), None)
            if found is None:
                raise SourceUnavailable(f"dir: no {component.value} under {self.root}")
            progress(f"copying {found}")
            shutil.copy2(found, dest / component.value)
            (dest / component.value).chmod(0o755)
