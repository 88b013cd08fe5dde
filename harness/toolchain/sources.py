"""The contract every toolchain source fulfils: put binaries for one product build in a directory.

Sources are tried in the configured order; a source that cannot serve a request raises
``SourceUnavailable`` with the reason, and the next one is tried. Only when every source has
said no does the user see an error, listing each source's reason.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from harness.errors import ToolchainError
from harness.progress import ProgressFn, no_progress
from harness.toolchain.components import Component, ProductBuild

__all__ = ["DEFAULT_SOURCES", "ProgressFn", "SourceUnavailable", "ToolchainSource", "no_progress", "source_names"]

DEFAULT_SOURCES = ("dir", "build", "release")


class SourceUnavailable(ToolchainError):
    """This source cannot provide the requested build; another source may."""


class ToolchainSource(Protocol):
    """Produces the binaries of one product build."""

    #: Short name used in configuration and in the manifest (``build``, ``release``, ``dir``).
    name: str

    def provide(
        self,
        build: ProductBuild,
        components: Sequence[Component],
        dest: Path,
        progress: ProgressFn,
    ) -> None:
        """Write each component's executable to ``dest / component.value`` or raise SourceUnavailable."""
        ...


def source_names() -> tuple[str, ...]:
    """The configured source order (``SPIN_HARNESS_TOOLCHAIN_SOURCES``, default dir,build,release)."""
    raw = os.environ.get("SPIN_HARNESS_TOOLCHAIN_SOURCES")
    sources = tuple(s.strip() for s in raw.split(",") if s.strip()) if raw else DEFAULT_SOURCES
    unknown = [s for s in sources if s not in DEFAULT_SOURCES]
    if unknown:
        raise ToolchainError(
            f"SPIN_HARNESS_TOOLCHAIN_SOURCES: unknown source(s) {', '.join(unknown)}",
            hint=f"choose from {', '.join(DEFAULT_SOURCES)}",
        )
    return sources
