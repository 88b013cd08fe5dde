"""Ports are reserved for the whole machine: separate state roots and cache roots never pick the same one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.providers.common import ports


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPIN_HARNESS_PORTS_DIR", str(tmp_path / "ports"))
    monkeypatch.setenv("SPIN_HARNESS_STATE", str(tmp_path / "state-a"))
    return tmp_path


class KernelHandingOut:
    """Stands in for ``socket``: each port-0 bind is handed the next port of ``ports``."""

    AF_INET = SOCK_STREAM = SOL_SOCKET = SO_REUSEADDR = 0

    def __init__(self, handed: list[int]) -> None:
        self.handed: Iterator[int] = iter(handed)

    def socket(self, *_: object) -> _Context:
        port = next(self.handed)
        return _Context(SimpleNamespace(bind=lambda _address: None, getsockname=lambda: ("127.0.0.1", port)))


class _Context:
    def __init__(self, probe: SimpleNamespace) -> None:
        self.probe = probe

    def __enter__(self) -> SimpleNamespace:
        return self.probe

    def __exit__(self, *_: object) -> None:
        return None


def test_a_port_picked_under_one_state_root_is_skipped_under_another(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ports, "socket", KernelHandingOut([40001, 40002, 40001, 40002, 40003, 40004]))
    with ports.reservation_lock():
        first = ports.pick_free_ports(2, ports.recorded_ports())
    monkeypatch.setenv("SPIN_HARNESS_STATE", str(machine / "state-b"))
    monkeypatch.setenv("SPIN_HARNESS_CACHE", str(machine / "another-cache"))  # a run with its own toolchain
    with ports.reservation_lock():
        second = ports.pick_free_ports(2, ports.recorded_ports())
    assert first == [40001, 40002]
    assert second == [40003, 40004]


def test_a_port_a_cluster_of_another_state_root_records_is_taken_after_its_hold_ran_out(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = machine / "state-a" / "clusters" / "dev"
    cluster.mkdir(parents=True)
    (cluster / "cluster.json").write_text(json.dumps({"ports": {"apiserver": 41000}, "ingress_port": 41001}))
    with ports.reservation_lock():
        assert ports.recorded_ports() == {41000, 41001}
    monkeypatch.setenv("SPIN_HARNESS_STATE", str(machine / "state-b"))
    with ports.reservation_lock():
        assert ports.recorded_ports() == {41000, 41001}
        assert [p.name for p in ports.state_roots()] == ["state-b", "state-a"]
    (cluster / "cluster.json").unlink()
    with ports.reservation_lock():
        assert ports.recorded_ports() == set()


def test_a_state_root_that_is_gone_is_forgotten(machine: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (machine / "state-a").mkdir()
    with ports.reservation_lock():
        ports.state_roots()
    monkeypatch.setenv("SPIN_HARNESS_STATE", str(machine / "state-b"))
    (machine / "state-a").rmdir()
    with ports.reservation_lock():
        assert ports.state_roots() == [machine / "state-b"]


def test_a_hold_runs_out(machine: Path) -> None:
    with ports.reservation_lock():
        picked = ports.pick_free_ports(2, [])
    now = ports.time.time()
    assert set(picked) <= set(ports._recent_picks(now))
    assert ports._recent_picks(now + ports.RECENT_PICK_SECONDS + 1) == {}


def test_damaged_records_are_read_as_empty(machine: Path) -> None:
    (machine / "ports").mkdir(parents=True)
    (machine / "ports" / "recent.json").write_text("{not json")
    (machine / "ports" / "state-roots.json").write_text('{"not": "a list"}')
    with ports.reservation_lock():
        assert len(ports.pick_free_ports(2, ports.recorded_ports())) == 2
