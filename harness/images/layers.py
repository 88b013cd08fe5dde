"""Image root filesystems written as tarballs, for ``docker import`` (no Dockerfile, no base image pulled).

A single-binary image is a tar with the binary and the few directories a process expects;
an image on a Debian root is that root's tarball with files appended. Entries are written
in a fixed order with fixed times and owners, so the same inputs give the same bytes.
"""

from __future__ import annotations

import io
import shutil
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from harness.paths import cache_root


def work_root() -> Path:
    """Scratch space for image builds, beside the cache (image tarballs are too big for /tmp)."""
    root = cache_root() / "images" / "work"
    root.mkdir(parents=True, exist_ok=True)
    return root


#: Directories every image root gets (processes write to /tmp; kubelet mounts under /var, /etc).
_SKELETON = ("etc", "tmp", "var", "usr", "usr/local", "usr/local/bin")


def _dir_info(name: str, mode: int = 0o755) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, 0
    return info


def _add_file(archive: tarfile.TarFile, source: Path, name: str, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = source.stat().st_size, mode, 0
    with source.open("rb") as handle:
        archive.addfile(info, handle)


def _add_bytes(archive: tarfile.TarFile, data: bytes, name: str, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    archive.addfile(info, io.BytesIO(data))


def _add_symlink(archive: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime, info.mode = tarfile.SYMTYPE, target, 0, 0o777
    archive.addfile(info)


def write_binary_root(
    out: Path,
    binaries: Mapping[str, Path],
    *,
    base: Path | None = None,
    symlinks: Iterable[tuple[str, str]] = (),
    files: Mapping[str, bytes] | None = None,
    copies: Mapping[str, Path] | None = None,
) -> Path:
    """Write a root tarball: ``base``'s entries (if any), then ``binaries`` at their image paths.

    ``binaries`` maps an absolute path in the image (``/usr/local/bin/etcd``) to a host file;
    ``symlinks`` are (path, target) pairs; ``files`` small text files (``/etc/passwd``);
    ``copies`` host files at image paths, executable only when the host file is (a tree of
    Python packages).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    replaced = {
        path.lstrip("/") for path in [*binaries, *(files or {}), *(copies or {}), *(link for link, _ in symlinks)]
    }
    with tarfile.open(out, "w") as archive:
        if base is not None:
            with tarfile.open(base) as source:
                for member in source:
                    if member.name.removeprefix("./") in replaced:
                        continue
                    archive.addfile(member, source.extractfile(member) if member.isfile() else None)
        else:
            for directory in _SKELETON:
                archive.addfile(_dir_info(directory, 0o1777 if directory == "tmp" else 0o755))
        for path, source_path in sorted(binaries.items()):
            _add_file(archive, source_path, path.lstrip("/"), 0o755)
        for path, source_path in sorted((copies or {}).items()):
            _add_file(archive, source_path, path.lstrip("/"), 0o755 if source_path.stat().st_mode & 0o111 else 0o644)
        for path, data in sorted((files or {}).items()):
            _add_bytes(archive, data, path.lstrip("/"))
        for path, target in sorted(symlinks):
            _add_symlink(archive, path.lstrip("/"), target)
    return out


def extract_member(tarball: Path, member: str, dest: Path) -> Path:
    """Copy one file (``./bin/busybox``) out of a root tarball."""
    with tarfile.open(tarball) as archive:
        for name in (member, "./" + member.lstrip("./"), member.lstrip("./")):
            try:
                info = archive.getmember(name)
            except KeyError:
                continue
            handle = archive.extractfile(info)
            if handle is None:
                break
            dest.parent.mkdir(parents=True, exist_ok=True)
            with dest.open("wb") as out:
                shutil.copyfileobj(handle, out)
            dest.chmod(0o755)
            return dest
    raise FileNotFoundError(f"{member} is not a file in {tarball}")
