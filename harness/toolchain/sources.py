"""The contract every toolchain source fulfils: put binaries for one product build in a directory.

Sources are tried in the configured order; a source that cannot serve a request raises
``SourceUnavailable`` with the reason, and the next one is tried. Only when every source has
said no does the user see an error, listing each source's reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from harness.errors import ToolchainError
from harness.toolchain.components import Component, ProductBuild

#: Receives one human-readable line per step of a long operation.
ProgressFn = Callable[[str], None]


def no_progress(_message: str) -> None:
    """A progress sink for callers that show nothing."""


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
