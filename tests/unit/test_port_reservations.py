"""Port picks are held machine-wide, so runs with separate state roots never pick the same port."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.providers.common import ports


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPIN_HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SPIN_HARNESS_STATE", str(tmp_path / "state-a"))
    return tmp_path


def test_a_port_picked_under_one_state_root_is_avoided_under_another(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ports.reservation_lock():
        first = ports.pick_free_ports(3, ports.recorded_ports())
    monkeypatch.setenv("SPIN_HARNESS_STATE", str(machine / "state-b"))
    assert ports.recorded_ports() == set()
    held = ports._recent_picks(0)
    assert set(first) <= set(held)
    with ports.reservation_lock():
        second = ports.pick_free_ports(3, ports.recorded_ports())
    assert not set(first) & set(second)


def test_a_hold_runs_out(machine: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with ports.reservation_lock():
        picked = ports.pick_free_ports(2, [])
    now = ports.time.time()
    assert set(picked) <= set(ports._recent_picks(now))
    assert ports._recent_picks(now + ports.RECENT_PICK_SECONDS + 1) == {}


def test_a_damaged_record_of_picks_is_read_as_none(machine: Path) -> None:
    (machine / "cache" / "ports").mkdir(parents=True)
    (machine / "cache" / "ports" / "recent.json").write_text("{not json")
    with ports.reservation_lock():
        assert len(ports.pick_free_ports(2, [])) == 2
