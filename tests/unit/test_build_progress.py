"""Toolchain build progress: packages counted from go's output, build durations remembered."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.toolchain.build_times import BuildTimes
from harness.toolchain.gorun import PackageCounter, count_compiled, run_counted

GO_BUILD_V = """\
go: downloading sigs.k8s.io/kwok v0.8.0
go: downloading k8s.io/apimachinery v0.33.0
internal/goarch
k8s.io/apimachinery/pkg/util/sets
# k8s.io/apimachinery/pkg/util/sets
./set.go:3:2: warning of some kind
k8s.io/apimachinery/pkg/util/sets
sigs.k8s.io/kwok/cmd/kwok
""".splitlines()


def test_packages_are_counted_once_and_only_from_the_listed_set() -> None:
    listed = frozenset({"internal/goarch", "k8s.io/apimachinery/pkg/util/sets", "sigs.k8s.io/kwok/cmd/kwok", "fmt"})
    assert count_compiled(GO_BUILD_V, listed) == 3


def test_without_a_list_package_shaped_lines_count() -> None:
    assert count_compiled(GO_BUILD_V, None) == 3
    counter = PackageCounter(None)
    assert not counter.feed("go: finding module for package x")
    assert not counter.feed("")
    assert not counter.feed("./main.go:3:2: undefined: y")


def test_a_counted_run_reports_packages_and_keeps_errors_apart(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "for line in ['go: downloading a v1', 'a/b', 'a/c', 'a/b', 'boom: it failed']:\n"
        "    print(line, file=sys.stderr)\n"
        "print('out')\n"
        "sys.exit(3)\n"
    )
    lines: list[str] = []
    result = run_counted(
        [sys.executable, "-c", script],
        tmp_path,
        {},
        progress=lines.append,
        label="go build x",
        packages=frozenset({"a/b", "a/c", "a/d"}),
        previous=None,
    )
    assert result.returncode == 3
    assert result.compiled == 2
    assert result.stdout == "out\n"
    assert result.stderr.splitlines() == ["go: downloading a v1", "boom: it failed"]


def test_build_times_remember_the_last_duration_per_step(tmp_path: Path) -> None:
    history = BuildTimes(tmp_path)
    assert history.previous("sigs.k8s.io/kwok/cmd/kwok") is None
    history.record("sigs.k8s.io/kwok/cmd/kwok", 95.44, 974, "v0.8.0")
    history.record("pause:pause", 1.0, 1, "3.10")
    history.record("sigs.k8s.io/kwok/cmd/kwok", 80.0, 12, "v0.8.0")
    again = BuildTimes(tmp_path).previous("sigs.k8s.io/kwok/cmd/kwok")
    assert again is not None
    assert (again.seconds, again.packages, again.version) == (80.0, 12, "v0.8.0")


def test_unreadable_history_means_no_estimate(tmp_path: Path) -> None:
    (tmp_path / "build-times.json").write_text("{not json")
    assert BuildTimes(tmp_path).previous("x") is None


def test_manifests_of_earlier_builds_give_an_estimate(tmp_path: Path) -> None:
    def manifest(version: str, records: dict[str, dict[str, object]]) -> None:
        directory = tmp_path / "kubernetes" / version
        directory.mkdir(parents=True)
        (directory / "manifest.json").write_text(json.dumps({"components": records}))

    built = {"source": "build", "seconds": 612.0, "sha256": "x", "size": 1}
    manifest("v1.35.4", {"kube-apiserver": built, "kubectl": built})
    manifest("v1.34.4", {"kube-apiserver": {**built, "source": "release"}})
    history = BuildTimes(tmp_path)
    assert history.from_manifests("kubernetes", ["kube-apiserver", "kubectl"]) == 612.0
    assert history.from_manifests("kubernetes", ["kubelet"]) is None
    assert history.from_manifests("etcd", ["etcd"]) is None


def test_a_build_held_by_another_process_is_announced_before_waiting(tmp_path: Path) -> None:
    import threading

    from filelock import FileLock

    from harness.toolchain.components import Product, ProductBuild
    from harness.toolchain.ensure import _build_lock

    directory = tmp_path / "v1.36.3"
    held = FileLock(str(directory) + ".lock")
    held.acquire()
    lines: list[str] = []
    told, inside = threading.Event(), threading.Event()

    def progress(line: str) -> None:
        lines.append(line)
        told.set()

    def wait_for_it() -> None:
        with _build_lock(directory, ProductBuild(Product.KUBERNETES, "v1.36.3"), progress):
            inside.set()

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    try:
        assert told.wait(30)
        assert not inside.is_set()  # told, and still blocked on the build's lock
        assert lines == [f"waiting for another process's build of kubernetes v1.36.3 ({directory}.lock)"]
    finally:
        held.release()
    waiter.join(30)
    assert inside.is_set()
    with _build_lock(directory, ProductBuild(Product.KUBERNETES, "v1.36.3"), lines.append):
        assert len(lines) == 1  # a free lock is taken without a word
