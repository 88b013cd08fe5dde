"""Toolchain source: official release binaries, downloaded and sha256-verified.

Downloading is far faster than building Kubernetes from source, but it means running bytes
fetched over the network, so nothing is installed unless its sha256 matches a digest the
project publishes beside it. Each product publishes differently:

* Kubernetes: ``{base}/{version}/bin/linux/{arch}/{component}``, digest in ``….sha256``.
* etcd: one tarball ``{base}/{version}/etcd-{version}-linux-{arch}.tar.gz`` listed in
  ``{base}/{version}/SHA256SUMS``; only the ``etcd`` binary is taken out of it.
* kwok: ``{base}/{version}/kwok-linux-{arch}``. kwok's release pipeline uploads bare binaries
  and no checksum file, so a ``.sha256`` sidecar is used when a mirror provides one; without
  it the download is refused rather than trusted, and the ``build`` source has to serve.

Every failure (unreachable server, HTTP error, time-out, truncated body, digest mismatch) is a
``SourceUnavailable`` naming the URL, so the next configured source is tried and the user sees
why this one said no. Files are streamed to temporary names in the destination and renamed
into place only once verified; on failure nothing this source wrote is left behind.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import platform
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from harness.progress import meter
from harness.toolchain.components import Component, Product, ProductBuild
from harness.toolchain.sources import ProgressFn, SourceUnavailable

#: ``platform.machine()`` spellings of the architectures upstream publishes Linux binaries for.
_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}

#: Read size while streaming; also bounds memory use for large binaries.
_CHUNK = 1 << 20

#: Checksum files are a few lines; anything bigger is not one.
_MAX_CHECKSUM_FILE = 1 << 20

_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")

_USER_AGENT = "spin-harness (toolchain release source)"


@dataclass(frozen=True)
class ReleaseURLs:
    """Where each product's releases live; overridable so mirrors and air-gapped caches can serve."""

    kubernetes: str = "https://dl.k8s.io/release"
    etcd: str = "https://github.com/etcd-io/etcd/releases/download"
    kwok: str = "https://github.com/kubernetes-sigs/kwok/releases/download"

    @classmethod
    def from_env(cls) -> ReleaseURLs:
        """The defaults, each overridable (``SPIN_HARNESS_RELEASE_URL``, ``..._ETCD_...``, ``..._KWOK_...``)."""
        defaults = cls()
        return cls(
            kubernetes=os.environ.get("SPIN_HARNESS_RELEASE_URL", defaults.kubernetes),
            etcd=os.environ.get("SPIN_HARNESS_ETCD_RELEASE_URL", defaults.etcd),
            kwok=os.environ.get("SPIN_HARNESS_KWOK_RELEASE_URL", defaults.kwok),
        )


def linux_arch(machine: str | None = None) -> str:
    """Upstream's name (``amd64``, ``arm64``) for this machine's architecture.

    Raises ``SourceUnavailable`` for hosts upstream publishes no Linux binaries for, so the
    ``build`` source gets its turn instead of a binary that cannot run.
    """
    raw = platform.machine() if machine is None else machine
    arch = _ARCHES.get(raw.lower())
    if arch is None:
        raise SourceUnavailable(f"release: no official linux binaries for machine {raw or '(unknown)'!r}")
    return arch


class ReleaseSource:
    """Downloads official release binaries and installs only those whose sha256 matches."""

    name = "release"

    def __init__(self, urls: ReleaseURLs | None = None, *, timeout: float = 60.0) -> None:
        self.urls = urls or ReleaseURLs()
        #: Seconds any single connect or read may block; a stalled mirror fails instead of hanging.
        self.timeout = timeout

    def provide(
        self,
        build: ProductBuild,
        components: Sequence[Component],
        dest: Path,
        progress: ProgressFn,
    ) -> None:
        """Write each component to ``dest / component.value``, verified, or raise SourceUnavailable.

        All or nothing: if one component fails, the ones already placed are removed again.
        """
        if build.product not in (Product.KUBERNETES, Product.ETCD, Product.KWOK):
            raise SourceUnavailable(f"release: spin-harness builds {build.product.value} from Go modules only")
        if platform.system() != "Linux":
            raise SourceUnavailable(f"release: official binaries are for linux, this host runs {platform.system()}")
        arch = linux_arch()
        placed: list[Path] = []
        try:
            for component in components:
                if component.product is not build.product:
                    raise SourceUnavailable(
                        f"release: {component.value} is not part of {build.product.value} {build.version}"
                    )
                target = dest / component.value
                if build.product is Product.KUBERNETES:
                    self._fetch_kubernetes(build.version, arch, component, target, progress)
                elif build.product is Product.ETCD:
                    self._fetch_etcd(build.version, arch, target, progress)
                else:
                    self._fetch_kwok(build.version, arch, target, progress)
                placed.append(target)
        except BaseException:
            for path in placed:
                path.unlink(missing_ok=True)
            raise

    def serves_kubernetes(self, version: str) -> bool:
        """Whether the release server publishes ``version``'s binaries (its kube-apiserver checksum)."""
        try:
            url = f"{_base(self.urls.kubernetes)}/{version}/bin/linux/{linux_arch()}/kube-apiserver.sha256"
            _single_digest(self._fetch_text(url), url)
        except (SourceUnavailable, _NotFound):
            return False
        return True

    # -- per product ---------------------------------------------------------------------------

    def _fetch_kubernetes(
        self, version: str, arch: str, component: Component, target: Path, progress: ProgressFn
    ) -> None:
        url = f"{_base(self.urls.kubernetes)}/{version}/bin/linux/{arch}/{component.value}"
        expected = _single_digest(self._fetch_text(url + ".sha256"), url + ".sha256")
        self._download_verified(url, expected, target, progress)

    def _fetch_etcd(self, version: str, arch: str, target: Path, progress: ProgressFn) -> None:
        stem = f"etcd-{version}-linux-{arch}"
        directory = f"{_base(self.urls.etcd)}/{version}"
        url = f"{directory}/{stem}.tar.gz"
        sums_url = f"{directory}/SHA256SUMS"
        expected = _listed_digest(self._fetch_text(sums_url), f"{stem}.tar.gz", sums_url)
        archive = target.with_name(f".{target.name}.tar.gz.part")
        try:
            self._download_verified(url, expected, archive, progress, executable=False)
            _extract_member(archive, f"{stem}/etcd", target, url)
        finally:
            archive.unlink(missing_ok=True)

    def _fetch_kwok(self, version: str, arch: str, target: Path, progress: ProgressFn) -> None:
        url = f"{_base(self.urls.kwok)}/{version}/kwok-linux-{arch}"
        sidecar = url + ".sha256"
        try:
            text = self._fetch_text(sidecar)
        except _NotFound:
            raise SourceUnavailable(
                f"release: kwok {version} publishes no checksum for kwok-linux-{arch} (no {sidecar}); "
                "refusing to install an unverified binary",
                hint="add the build source to SPIN_HARNESS_TOOLCHAIN_SOURCES, or put a vetted kwok in "
                "SPIN_HARNESS_BIN_DIR",
            ) from None
        self._download_verified(url, _single_digest(text, sidecar), target, progress)

    # -- transfer ------------------------------------------------------------------------------

    def _fetch_text(self, url: str) -> str:
        """A small text file (a checksum list), read into memory."""
        buffer = bytearray()

        def keep(chunk: bytes) -> None:
            buffer.extend(chunk)
            if len(buffer) > _MAX_CHECKSUM_FILE:
                raise SourceUnavailable(f"release: {url} is larger than {_MAX_CHECKSUM_FILE} bytes")

        self._transfer(url, keep, None)
        return buffer.decode("utf-8", errors="replace")

    def _download_verified(
        self, url: str, expected: str, target: Path, progress: ProgressFn, *, executable: bool = True
    ) -> None:
        """Stream ``url`` beside ``target``, check its sha256, then rename it into place.

        The file only gets its final name (and execute permission) after the digest matched,
        so a crash or mismatch can never leave a runnable unverified binary behind.
        """
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        partial = Path(name)
        try:
            digest = hashlib.sha256()
            received = [0]
            with os.fdopen(fd, "wb") as out, meter(progress, f"download {url.rsplit('/', 1)[-1]}", unit="MiB") as shown:

                def write(chunk: bytes) -> None:
                    digest.update(chunk)
                    out.write(chunk)
                    before, received[0] = received[0], received[0] + len(chunk)
                    shown.advance((received[0] >> 20) - (before >> 20))

                def announce(length: int | None) -> None:
                    size = f"{length / (1 << 20):.1f} MiB" if length is not None else "size unknown"
                    progress(f"downloading {url} ({size})")
                    shown.set_total(-(-length // (1 << 20)) if length else None)

                self._transfer(url, write, announce)
            actual = digest.hexdigest()
            if actual != expected:
                raise SourceUnavailable(f"release: sha256 mismatch for {url}: expected {expected}, got {actual}")
            if executable:
                partial.chmod(0o755)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)

    def _transfer(
        self, url: str, write: Callable[[bytes], None], announce: Callable[[int | None], None] | None
    ) -> None:
        """GET ``url`` and feed its body to ``write``; every network failure becomes SourceUnavailable.

        ``read`` on a body cut short returns less data rather than raising, so the byte count is
        compared with Content-Length here; a silent short read would otherwise only surface as a
        confusing digest mismatch.
        """
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                length = _content_length(response.headers.get("Content-Length"))
                if announce is not None:
                    announce(length)
                received = 0
                while chunk := response.read(_CHUNK):
                    write(chunk)
                    received += len(chunk)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 404:
                raise _NotFound(f"release: {url}: HTTP 404 {exc.reason}") from None
            raise SourceUnavailable(f"release: {url}: HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            raise SourceUnavailable(f"release: cannot reach {url}: {_describe(exc.reason)}") from None
        except TimeoutError:
            raise SourceUnavailable(f"release: {url}: timed out after {self.timeout:g}s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise SourceUnavailable(f"release: download of {url} failed: {_describe(exc)}") from None
        if length is not None and received != length:
            raise SourceUnavailable(f"release: truncated download of {url}: received {received} of {length} bytes")


class _NotFound(SourceUnavailable):
    """HTTP 404: the file is not published (which for an optional checksum is its own answer)."""


def _base(url: str) -> str:
    return url.rstrip("/")


def _content_length(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _describe(reason: object) -> str:
    """One line for a low-level error: ``Connection refused`` rather than ``[Errno 111] …``."""
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    text = str(reason).strip() or type(reason).__name__
    return " ".join(text.split())


def _single_digest(text: str, url: str) -> str:
    """The digest in a ``.sha256`` file: the hex digest, optionally followed by a file name."""
    fields = text.split()
    if not fields or not _HEX_DIGEST.fullmatch(fields[0]):
        raise SourceUnavailable(f"release: {url} holds no sha256 digest")
    return fields[0].lower()


def _listed_digest(text: str, filename: str, url: str) -> str:
    """The digest for ``filename`` in a ``sha256sum``-style list (``<hex>  [*]<name>`` lines)."""
    for line in text.splitlines():
        fields = line.split(maxsplit=1)
        if len(fields) != 2 or not _HEX_DIGEST.fullmatch(fields[0]):
            continue
        listed = fields[1].strip().removeprefix("*").removeprefix("./")
        if listed == filename:
            return fields[0].lower()
    raise SourceUnavailable(f"release: {url} lists no sha256 for {filename}")


def _extract_member(archive: Path, member_name: str, target: Path, url: str) -> None:
    """Copy one regular file out of a verified tarball to ``target``, made executable.

    The member's name is only compared, never used as a path, and links, devices and every
    other member are ignored, so a hostile archive cannot write outside ``target``.
    """
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    partial = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, tarfile.open(archive, "r:gz") as tar:
            member = next((m for m in tar if m.name.removeprefix("./") == member_name), None)
            if member is None:
                raise SourceUnavailable(f"release: {url} has no {member_name}")
            if not member.isreg():
                raise SourceUnavailable(f"release: {member_name} in {url} is not a regular file")
            source: IO[bytes] | None = tar.extractfile(member)
            if source is None:  # pragma: no cover - isreg() members always have data
                raise SourceUnavailable(f"release: cannot read {member_name} from {url}")
            with source:
                shutil.copyfileobj(source, out, _CHUNK)
        partial.chmod(0o755)
        os.replace(partial, target)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise SourceUnavailable(f"release: cannot extract {member_name} from {url}: {_describe(exc)}") from None
    finally:
        partial.unlink(missing_ok=True)
