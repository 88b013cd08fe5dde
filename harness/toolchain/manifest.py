"""The checksum manifest kept beside every cached product.

The manifest is the cache's source of truth: a binary counts as present only when its
sha256 matches what was recorded when it was built or downloaded, so a truncated copy or a
hand-edited file is rebuilt rather than run.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

MANIFEST_NAME = "manifest.json"
#: The source name of binaries built with ``go build`` (``harness.toolchain.gobuild``).
BUILT_FROM_MODULES = "build"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class ComponentRecord:
    sha256: str
    size: int
    source: str
    seconds: float = 0.0
    #: For a Go build: the digest of what it compiled besides published modules
    #: (``harness.toolchain.pinned.build_recipe``), "" for none.
    recipe: str = ""


@dataclass
class Manifest:
    product: str
    version: str
    components: dict[str, ComponentRecord] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path, product: str, version: str) -> Manifest:
        path = directory / MANIFEST_NAME
        try:
            raw = json.loads(path.read_text())
            known = {f.name for f in fields(ComponentRecord)}
            records = {
                name: ComponentRecord(**{k: v for k, v in rec.items() if k in known})
                for name, rec in raw.get("components", {}).items()
            }
            return cls(product, version, records, dict(raw.get("extra", {})))
        except (OSError, ValueError, TypeError, AttributeError):
            return cls(product, version)

    def save(self, directory: Path) -> None:
        path = directory / MANIFEST_NAME
        tmp = path.with_suffix(".tmp")
        written = asdict(self)
        for record in written["components"].values():
            if not record["recipe"]:
                del record["recipe"]  # as before recipes were recorded, so older versions read such records
        tmp.write_text(json.dumps(written, indent=2, sort_keys=True))
        os.replace(tmp, path)

    def verified(self, directory: Path, name: str, *, recipe: str = "") -> Path | None:
        """The component's path if it is recorded and its bytes still match the record; a Go
        build's also only if it was built to ``recipe`` (the trims a build now applies)."""
        record = self.components.get(name)
        path = directory / name
        if record is None or not path.is_file():
            return None
        if record.source == BUILT_FROM_MODULES and record.recipe != recipe:
            return None
        if path.stat().st_size != record.size or sha256_file(path) != record.sha256:
            return None
        return path

    def record(self, directory: Path, name: str, source: str, seconds: float, *, recipe: str = "") -> None:
        path = directory / name
        self.components[name] = ComponentRecord(
            sha256_file(path),
            path.stat().st_size,
            source,
            round(seconds, 1),
            recipe if source == BUILT_FROM_MODULES else "",
        )
