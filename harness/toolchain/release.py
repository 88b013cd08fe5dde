"""Toolchain source: official release binaries, downloaded and sha256-verified (placeholder)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.toolchain.components import Component, ProductBuild
from harness.toolchain.sources import ProgressFn, SourceUnavailable


@dataclass(frozen=True)
class ReleaseURLs:
    kubernetes: str = "https://dl.k8s.io/release"
    etcd: str = "https://github.com/etcd-io/etcd/releases/download"
    kwok: str = "https://github.com/kubernetes-sigs/kwok/releases/download"


class ReleaseSource:
    name = "release"

    def __init__(self, urls: ReleaseURLs | None = None, *, timeout: float = 60.0) -> None:
        self.urls = urls or ReleaseURLs()
        self.timeout = timeout

    def provide(self, build: ProductBuild, components: Sequence[Component], dest: Path, progress: ProgressFn) -> None:
        raise SourceUnavailable("release: not implemented yet")
