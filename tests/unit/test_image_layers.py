"""Image roots written as tarballs for ``docker import``: deterministic and complete."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from harness.images import layers


def test_single_binary_root_has_the_binary_and_a_skeleton(tmp_path: Path) -> None:
    binary = tmp_path / "etcd"
    binary.write_bytes(b"\x7fELF fake")
    out = layers.write_binary_root(tmp_path / "etcd.tar", {"/usr/local/bin/etcd": binary})
    with tarfile.open(out) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert members["usr/local/bin/etcd"].mode == 0o755
        assert members["tmp"].mode == 0o1777
        assert archive.extractfile("usr/local/bin/etcd").read() == b"\x7fELF fake"  # type: ignore[union-attr]


def test_same_inputs_give_the_same_bytes(tmp_path: Path) -> None:
    binary = tmp_path / "pause"
    binary.write_bytes(b"pause")
    first = layers.write_binary_root(tmp_path / "a.tar", {"/pause": binary}, symlinks=[("/bin/sh", "busybox")])
    binary.touch()  # a new mtime on the host changes nothing in the image
    second = layers.write_binary_root(tmp_path / "b.tar", {"/pause": binary}, symlinks=[("/bin/sh", "busybox")])
    assert first.read_bytes() == second.read_bytes()


def test_a_base_root_is_kept_and_its_copy_of_a_path_replaced(tmp_path: Path) -> None:
    base_dir = tmp_path / "base"
    (base_dir / "usr/local/bin").mkdir(parents=True)
    (base_dir / "usr/local/bin/kube-proxy").write_text("old")
    (base_dir / "usr/sbin").mkdir(parents=True)
    (base_dir / "usr/sbin/iptables").write_text("iptables")
    base = tmp_path / "base.tar"
    with tarfile.open(base, "w") as archive:
        archive.add(base_dir, arcname=".")
    new = tmp_path / "kube-proxy"
    new.write_text("new")
    out = layers.write_binary_root(tmp_path / "kp.tar", {"/usr/local/bin/kube-proxy": new}, base=base)
    with tarfile.open(out) as archive:
        names = [m.name.removeprefix("./") for m in archive.getmembers()]
        assert names.count("usr/local/bin/kube-proxy") == 1
        assert "usr/sbin/iptables" in names
        assert archive.extractfile("usr/local/bin/kube-proxy").read() == b"new"  # type: ignore[union-attr]
    assert layers.extract_member(base, "./usr/sbin/iptables", tmp_path / "x").read_text() == "iptables"
    with pytest.raises(FileNotFoundError, match="not a file"):
        layers.extract_member(base, "./usr/bin/busybox", tmp_path / "y")
