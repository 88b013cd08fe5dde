"""Release source: downloads from a real HTTP server on 127.0.0.1, checksums enforced, failures clean.

The server serves a fake release tree built in ``tmp_path`` with upstream's layout, so the
tests exercise the real urllib code path, including bodies cut short and servers that stall.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import socket
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.errors import ToolchainError
from harness.toolchain.components import Component, Product, ProductBuild
from harness.toolchain.ensure import ToolchainConfig, ensure
from harness.toolchain.release import ReleaseSource, ReleaseURLs, linux_arch
from harness.toolchain.sources import SourceUnavailable
from harness.versions import KubeVersion

ARCH = "amd64"
KUBE = "v1.36.3"
ETCD = "v3.6.8"
KWOK = "v0.8.0"
KUBE_BUILD = ProductBuild(Product.KUBERNETES, KUBE)
ETCD_BUILD = ProductBuild(Product.ETCD, ETCD)
KWOK_BUILD = ProductBuild(Product.KWOK, KWOK)
ETCD_STEM = f"etcd-{ETCD}-linux-{ARCH}"


def script(says: str) -> bytes:
    return f"#!/bin/sh\necho '{says}'\n".encode()


def quiet(_line: str) -> None:
    pass


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tarball(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buffer.getvalue()


@dataclass
class Server:
    """A release tree on disk, served over HTTP, with knobs for misbehaving."""

    root: Path
    base: str = ""
    requests: list[str] = field(default_factory=list)
    truncate: set[str] = field(default_factory=set)  # announce more bytes than are sent
    stall: set[str] = field(default_factory=set)  # never answer (until teardown)
    released: threading.Event = field(default_factory=threading.Event)

    @property
    def urls(self) -> ReleaseURLs:
        return ReleaseURLs(kubernetes=f"{self.base}/k8s", etcd=f"{self.base}/etcd", kwok=f"{self.base}/kwok")

    def put(self, path: str, data: bytes) -> bytes:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return data

    def put_kube(self, component: str, data: bytes, digest: str | None = None) -> str:
        path = f"k8s/{KUBE}/bin/linux/{ARCH}/{component}"
        self.put(path, data)
        self.put(path + ".sha256", f"{digest or sha256(data)}\n".encode())
        return path

    def put_etcd(self, archive: bytes) -> str:
        path = f"etcd/{ETCD}/{ETCD_STEM}.tar.gz"
        self.put(path, archive)
        other = "0" * 64
        self.put(
            f"etcd/{ETCD}/SHA256SUMS",
            f"{other}  etcd-{ETCD}-linux-arm64.tar.gz\n{sha256(archive)}  {ETCD_STEM}.tar.gz\n".encode(),
        )
        return path


def make_handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].lstrip("/")
            server.requests.append(path)
            if path in server.stall:
                server.released.wait(10)
                return
            file = server.root / path
            if ".." in path or not file.is_file():
                self.send_error(404)
                return
            body = file.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            extra = 1000 if path in server.truncate else 0
            self.send_header("Content-Length", str(len(body) + extra))
            self.end_headers()
            self.wfile.write(body)  # HTTP/1.0: the connection closes after this, short or not

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(autouse=True)
def amd64_linux_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fix the architecture so the served tree matches whatever machine runs the tests."""
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    monkeypatch.setattr("platform.system", lambda: "Linux")
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    state = Server(root=tmp_path / "www")
    state.root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    directory = tmp_path / "dest"
    directory.mkdir()
    return directory


def assert_empty(directory: Path) -> None:
    assert sorted(p.name for p in directory.iterdir()) == []


def test_arch_mapping() -> None:
    assert linux_arch("x86_64") == "amd64"
    assert linux_arch("aarch64") == "arm64"
    with pytest.raises(SourceUnavailable, match="ppc64le"):
        linux_arch("ppc64le")


def test_kubernetes_components_are_downloaded_verified_and_executable(server: Server, dest: Path) -> None:
    apiserver = server.put_kube("kube-apiserver", script(f"Kubernetes {KUBE}"))
    server.put_kube("kubectl", script(f"Client Version: {KUBE}"))
    lines: list[str] = []
    ReleaseSource(server.urls).provide(KUBE_BUILD, [Component.KUBE_APISERVER, Component.KUBECTL], dest, lines.append)
    assert (dest / "kube-apiserver").read_bytes() == script(f"Kubernetes {KUBE}")
    assert os.access(dest / "kube-apiserver", os.X_OK) and os.access(dest / "kubectl", os.X_OK)
    assert sorted(p.name for p in dest.iterdir()) == ["kube-apiserver", "kubectl"]
    assert f"downloading {server.base}/{apiserver} (0.0 MiB)" in lines


def test_sha256_file_with_filename_after_digest_is_accepted(server: Server, dest: Path) -> None:
    data = script(f"Kubernetes {KUBE}")
    path = server.put_kube("kube-scheduler", data)
    server.put(path + ".sha256", f"{sha256(data).upper()}  kube-scheduler\n".encode())
    ReleaseSource(server.urls).provide(KUBE_BUILD, [Component.KUBE_SCHEDULER], dest, quiet)
    assert (dest / "kube-scheduler").read_bytes() == data


def test_etcd_binary_alone_is_taken_from_the_tarball(server: Server, dest: Path) -> None:
    etcd = script(f"etcd Version: {ETCD.removeprefix('v')}")
    server.put_etcd(
        tarball(
            {
                f"{ETCD_STEM}/etcd": etcd,
                f"{ETCD_STEM}/etcdctl": script("etcdctl"),
                f"{ETCD_STEM}/README.md": b"readme",
                "../escaped": b"outside",
            }
        )
    )
    ReleaseSource(server.urls).provide(ETCD_BUILD, [Component.ETCD], dest, quiet)
    assert sorted(p.name for p in dest.iterdir()) == ["etcd"]
    assert (dest / "etcd").read_bytes() == etcd and os.access(dest / "etcd", os.X_OK)
    assert not (dest.parent / "escaped").exists()


def test_etcd_member_that_is_a_link_is_refused(server: Server, dest: Path) -> None:
    server.put_etcd(tarball({}, links={f"{ETCD_STEM}/etcd": "/bin/sh"}))
    with pytest.raises(SourceUnavailable, match="not a regular file"):
        ReleaseSource(server.urls).provide(ETCD_BUILD, [Component.ETCD], dest, quiet)
    assert_empty(dest)


def test_etcd_tarball_without_the_binary_is_refused(server: Server, dest: Path) -> None:
    server.put_etcd(tarball({f"{ETCD_STEM}/etcdctl": b"x", "etcd": b"wrong place"}))
    with pytest.raises(SourceUnavailable, match=re.escape(f"has no {ETCD_STEM}/etcd")):
        ReleaseSource(server.urls).provide(ETCD_BUILD, [Component.ETCD], dest, quiet)
    assert_empty(dest)


def test_etcd_tarball_not_listed_in_sha256sums_is_refused(server: Server, dest: Path) -> None:
    server.put_etcd(tarball({f"{ETCD_STEM}/etcd": b"x"}))
    server.put(f"etcd/{ETCD}/SHA256SUMS", f"{'1' * 64}  something-else.tar.gz\n".encode())
    with pytest.raises(SourceUnavailable, match=re.escape(f"lists no sha256 for {ETCD_STEM}.tar.gz")):
        ReleaseSource(server.urls).provide(ETCD_BUILD, [Component.ETCD], dest, quiet)
    assert_empty(dest)


def test_etcd_tarball_with_wrong_checksum_is_refused(server: Server, dest: Path) -> None:
    path = server.put_etcd(tarball({f"{ETCD_STEM}/etcd": b"x"}))
    server.put(path, tarball({f"{ETCD_STEM}/etcd": b"tampered"}))
    with pytest.raises(SourceUnavailable, match="sha256 mismatch"):
        ReleaseSource(server.urls).provide(ETCD_BUILD, [Component.ETCD], dest, quiet)
    assert_empty(dest)


def test_kwok_with_sha256_sidecar_is_downloaded(server: Server, dest: Path) -> None:
    data = script(f"kwok version {KWOK}")
    server.put(f"kwok/{KWOK}/kwok-linux-{ARCH}", data)
    server.put(f"kwok/{KWOK}/kwok-linux-{ARCH}.sha256", f"{sha256(data)}  kwok-linux-{ARCH}\n".encode())
    ReleaseSource(server.urls).provide(KWOK_BUILD, [Component.KWOK], dest, quiet)
    assert (dest / "kwok").read_bytes() == data and os.access(dest / "kwok", os.X_OK)


def test_kwok_without_published_checksum_is_refused_not_trusted(server: Server, dest: Path) -> None:
    server.put(f"kwok/{KWOK}/kwok-linux-{ARCH}", script(f"kwok version {KWOK}"))
    with pytest.raises(SourceUnavailable) as caught:
        ReleaseSource(server.urls).provide(KWOK_BUILD, [Component.KWOK], dest, quiet)
    message = str(caught.value)
    assert "publishes no checksum" in message and "build" in message and "\n" not in message
    assert f"kwok/{KWOK}/kwok-linux-{ARCH}" not in server.requests  # the binary itself was never fetched
    assert_empty(dest)


def test_wrong_checksum_is_refused_and_nothing_is_left(server: Server, dest: Path) -> None:
    path = server.put_kube("kube-apiserver", script(f"Kubernetes {KUBE}"), digest="ab" * 32)
    with pytest.raises(SourceUnavailable) as caught:
        ReleaseSource(server.urls).provide(KUBE_BUILD, [Component.KUBE_APISERVER], dest, quiet)
    message = str(caught.value)
    assert message.startswith(f"release: sha256 mismatch for {server.base}/{path}: expected {'ab' * 32}, got ")
    assert "\n" not in message
    assert_empty(dest)


def test_truncated_body_is_refused(server: Server, dest: Path) -> None:
    path = server.put_kube("kube-apiserver", script(f"Kubernetes {KUBE}"))
    server.truncate.add(path)
    with pytest.raises(SourceUnavailable, match=r"truncated download of .*kube-apiserver: received \d+ of \d+ bytes"):
        ReleaseSource(server.urls).provide(KUBE_BUILD, [Component.KUBE_APISERVER], dest, quiet)
    assert_empty(dest)


def test_missing_file_is_refused_with_http_status(server: Server, dest: Path) -> None:
    with pytest.raises(SourceUnavailable) as caught:
        ReleaseSource(server.urls).provide(KUBE_BUILD, [Component.KUBE_APISERVER], dest, quiet)
    assert str(caught.value) == (
        f"release: {server.base}/k8s/{KUBE}/bin/linux/{ARCH}/kube-apiserver.sha256: HTTP 404 Not Found"
    )
    assert_empty(dest)


def test_closed_port_is_refused(dest: Path) -> None:
    # Bound but never listening: connections are refused, and no other process takes the port meanwhile.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{closed.getsockname()[1]}"
        source = ReleaseSource(ReleaseURLs(kubernetes=base, etcd=base, kwok=base), timeout=5)
        with pytest.raises(SourceUnavailable, match=f"cannot reach {re.escape(base)}/.*: Connection refused"):
            source.provide(KUBE_BUILD, [Component.KUBE_APISERVER], dest, quiet)
    assert_empty(dest)


def test_stalled_server_times_out(server: Server, dest: Path) -> None:
    path = server.put_kube("kube-apiserver", script(f"Kubernetes {KUBE}"))
    server.stall.add(path + ".sha256")
    with pytest.raises(SourceUnavailable, match="timed out"):
        ReleaseSource(server.urls, timeout=0.3).provide(KUBE_BUILD, [Component.KUBE_APISERVER], dest, quiet)
    assert_empty(dest)


def test_failure_of_a_later_component_removes_the_earlier_ones(server: Server, dest: Path) -> None:
    server.put_kube("kube-apiserver", script(f"Kubernetes {KUBE}"))
    server.put_kube("kubectl", script(f"Client Version: {KUBE}"), digest="cd" * 32)
    with pytest.raises(SourceUnavailable, match="sha256 mismatch"):
        ReleaseSource(server.urls).provide(KUBE_BUILD, [Component.KUBE_APISERVER, Component.KUBECTL], dest, quiet)
    assert_empty(dest)


def test_ensure_downloads_once_and_records_release_in_manifest(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPIN_HARNESS_ETCD_VERSION", ETCD)
    server.put_kube("kube-apiserver", script(f"Kubernetes {KUBE}"))
    server.put_etcd(tarball({f"{ETCD_STEM}/etcd": script(f"etcd Version: {ETCD.removeprefix('v')}")}))
    config = ToolchainConfig(sources=("release",), release_urls=server.urls, root=tmp_path / "cache")
    wanted = [Component.KUBE_APISERVER, Component.ETCD]

    tools = ensure(KubeVersion.parse(KUBE), wanted, config=config)
    assert tools.etcd_version == ETCD
    for component in wanted:
        path = tools[component]
        assert path.is_file() and os.access(path, os.X_OK)
        record = json.loads((path.parent / "manifest.json").read_text())["components"][component.value]
        assert record["source"] == "release"
        assert record["sha256"] == sha256(path.read_bytes())
    fetched = len(server.requests)
    assert fetched == 4  # two checksum files, one binary, one tarball

    again = ensure(KubeVersion.parse(KUBE), wanted, config=config)
    assert again.paths == tools.paths
    assert len(server.requests) == fetched


def test_ensure_refuses_a_verified_download_of_the_wrong_version(server: Server, tmp_path: Path) -> None:
    server.put_kube("kube-apiserver", script("Kubernetes v1.35.0"))  # verified bytes, wrong version
    config = ToolchainConfig(sources=("release",), release_urls=server.urls, root=tmp_path / "cache")
    with pytest.raises(ToolchainError, match=re.escape(f"expected {KUBE}")):
        ensure(KubeVersion.parse(KUBE), [Component.KUBE_APISERVER], config=config)
    directory = tmp_path / "cache" / "kubernetes" / KUBE
    assert sorted(p.name for p in directory.iterdir() if p.name != "manifest.json") == []
