"""A bare minor resolves to the newest patch this machine can build, checked against a local fake proxy."""

from __future__ import annotations

import http.server
import io
import json
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import VersionError
from harness.toolchain import goproxy
from harness.toolchain.patches import PatchCheck, choose_patch
from harness.toolchain.staging import MISSING_TTL_SECONDS, StagingAnswers
from harness.versions import KubeVersion

V = KubeVersion.parse


def test_newest_usable_patch_is_chosen_and_skips_are_named() -> None:
    notes: list[str] = []
    usable = {V("v1.32.4"): "its staging modules are served"}

    def check(version: KubeVersion) -> PatchCheck:
        reason = usable.get(version)
        return PatchCheck(True, reason) if reason else PatchCheck(False, f"proxy lacks k8s.io/api {version}")

    chosen = choose_patch(
        KubeVersion(1, 32, -1),
        [V("v1.32.3"), V("v1.32.5"), V("v1.32.4")],
        check,
        note=notes.append,
    )
    assert chosen == V("v1.32.4")
    assert notes == [
        "1.32 resolves to v1.32.4 (its staging modules are served); skipped v1.32.5: proxy lacks k8s.io/api v1.32.5"
    ]


def test_no_usable_patch_lists_every_reason() -> None:
    with pytest.raises(VersionError, match=r"v1\.32\.5: nope; v1\.32\.4: nope") as caught:
        choose_patch(
            KubeVersion(1, 32, -1), [V("v1.32.4"), V("v1.32.5")], lambda _v: PatchCheck(False, "nope"), note=print
        )
    assert caught.value.hint


def test_no_published_patch_says_so() -> None:
    with pytest.raises(VersionError, match=r"no 1\.40 release is published"):
        choose_patch(KubeVersion(1, 40, -1), [], lambda _v: PatchCheck(True, ""), note=print, field="--to")


def test_missing_answers_expire_and_complete_ones_stay(tmp_path: Path) -> None:
    answers = StagingAnswers(tmp_path)
    answers.put(V("v1.36.3"), ["k8s.io/api v0.36.3"], now=1000)
    answers.put(V("v1.36.1"), [], now=1000)
    assert answers.get(V("v1.36.3"), now=1000 + MISSING_TTL_SECONDS - 1) == ["k8s.io/api v0.36.3"]
    assert answers.get(V("v1.36.3"), now=1000 + MISSING_TTL_SECONDS + 1) is None
    assert answers.get(V("v1.36.1"), now=10**12) == []
    assert answers.get(V("v1.35.0")) is None


# -- against a fake module proxy -------------------------------------------------------------

KUBERNETES_GOMOD = """module k8s.io/kubernetes

go 1.24.0

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tk8s.io/sample-controller => ./staging/src/k8s.io/sample-controller
)
"""

#: module -> versions it serves. k8s.io/api v0.36.3 is missing: 1.36.3 cannot be built.
SERVED = {
    "k8s.io/kubernetes": ["v1.36.1", "v1.36.3"],
    "k8s.io/api": ["v0.36.1"],
    "k8s.io/client-go": ["v0.36.1", "v0.36.3"],
}


def _module_zip(module: str, version: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{module}@{version}/go.mod", f"module {module}\n")
        archive.writestr(f"{module}@{version}/doc.go", "package x\n")
    return buffer.getvalue()


class _Proxy(http.server.BaseHTTPRequestHandler):
    """GOPROXY protocol: <module>/@v/list, <version>.info, .mod and .zip."""

    def do_GET(self) -> None:
        module, _, tail = self.path.lstrip("/").partition("/@v/")
        versions = SERVED.get(module, [])
        body: bytes | None = None
        if tail == "list":
            body = "".join(f"{v}\n" for v in versions).encode()
        else:
            version, _, kind = tail.rpartition(".")
            if version in versions:
                if kind == "info":
                    body = json.dumps({"Version": version, "Time": "2026-01-01T00:00:00Z"}).encode()
                elif kind == "mod":
                    body = (KUBERNETES_GOMOD if module == "k8s.io/kubernetes" else f"module {module}\n").encode()
                elif kind == "zip":
                    body = _module_zip(module, version)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def fake_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    if shutil.which("go") is None:
        pytest.skip("the go command is not installed")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    cache = tmp_path / "cache"
    monkeypatch.setenv("GOPROXY", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("GOSUMDB", "off")
    monkeypatch.setenv("GONOSUMDB", "*")
    monkeypatch.setenv("GOPRIVATE", "")
    monkeypatch.setenv("GOTOOLCHAIN", "local")
    monkeypatch.setenv("GOMODCACHE", str(tmp_path / "modcache"))
    monkeypatch.setenv("GOFLAGS", "-mod=mod")
    monkeypatch.setenv("SPIN_HARNESS_CACHE", str(cache))
    monkeypatch.setenv("SPIN_HARNESS_TOOLCHAIN_SOURCES", "build")
    try:
        yield cache
    finally:
        server.shutdown()
        subprocess.run(["chmod", "-R", "u+w", str(tmp_path)], check=False)


def test_minor_skips_the_patch_whose_staging_module_is_not_served(fake_proxy: Path) -> None:
    notes: list[str] = []
    chosen = goproxy.resolve("1.36", note=notes.append)
    assert chosen == V("v1.36.1")
    assert len(notes) == 1
    assert "1.36 resolves to v1.36.1" in notes[0]
    assert "skipped v1.36.3: the Go module proxy does not serve k8s.io/api v0.36.3" in notes[0]
    answers = json.loads((fake_proxy / "toolchain" / "staging-published.json").read_text())
    assert answers["v1.36.3"]["missing"] == ["k8s.io/api v0.36.3"]
    assert answers["v1.36.1"]["missing"] == []


def test_answers_are_reused_without_asking_the_proxy(fake_proxy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    goproxy.resolve("1.36", note=lambda _m: None)

    def no_proxy(*_args: object, **_kwargs: object) -> str:
        raise AssertionError("the proxy was asked again")

    monkeypatch.setattr(goproxy, "unpublished_staging", no_proxy)
    monkeypatch.setattr(goproxy, "gomod_text", no_proxy)
    assert goproxy.resolve("1.36", note=lambda _m: None) == V("v1.36.1")
    assert goproxy.newest_minors(1) == [V("v1.36.1")]


def test_a_cached_patch_is_usable_without_a_check(fake_proxy: Path) -> None:
    directory = fake_proxy / "toolchain" / "kubernetes" / "v1.36.3"
    directory.mkdir(parents=True)
    record = {"sha256": "x", "size": 1, "source": "release", "seconds": 1.0}
    (directory / "manifest.json").write_text(json.dumps({"components": {"kubectl": record}}))
    assert goproxy.patch_check(V("v1.36.3")) == PatchCheck(True, "already in the toolchain cache")
