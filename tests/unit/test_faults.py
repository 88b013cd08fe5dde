"""Fault specs, and faults applied to real processes on a timer: frozen, thawed, never left frozen.

The "cluster" here is a local cluster record whose components are ``sleep`` processes, so the
timer finds them through ``component_pids`` exactly as it finds a real cluster's.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import InputError
from harness.providers.local import process, state
from harness.run.faults import Fault, FaultTimer


def test_specs_parse_into_faults() -> None:
    assert Fault.parse("kill:kube-apiserver:3") == Fault("kill", "kube-apiserver", 3.0)
    assert Fault.parse("stop:etcd:2@local:*>v1.37.2") == Fault("stop", "etcd", 2.0, "local:*>v1.37.2")
    assert Fault.parse("stop:kube-apiserver:5:25") == Fault("stop", "kube-apiserver", 5.0, for_seconds=25.0)
    assert Fault.parse("stop:kube-apiserver:replaced+0:25@local:*") == Fault(
        "stop", "kube-apiserver", 0.0, "local:*", 25.0, after_replaced=True
    )


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("explode:etcd:1", "is not ACTION:COMPONENT:WHEN"),
        ("stop:etcd", "is not ACTION:COMPONENT:WHEN"),
        ("stop::1", "is not ACTION:COMPONENT:WHEN"),
        ("stop:etcd:soon", "WHEN 'soon' is not a number"),
        ("stop:etcd:replaced+x", "WHEN 'x' is not a number"),
        ("stop:etcd:-1", "WHEN '-1' is negative"),
        ("stop:etcd:1:forever", "FOR 'forever' is not a number"),
        ("kill:etcd:1:5", "only 'stop' lasts FOR seconds"),
        ("stop:etcd:1:2:3", "is not ACTION:COMPONENT:WHEN"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(InputError, match=says.replace("+", r"\+")) as caught:
        Fault.parse(spec)
    assert spec in str(caught.value) and caught.value.hint


@given(
    st.sampled_from(["kill", "stop"]),
    st.sampled_from(["etcd", "kube-apiserver", "kwok"]),
    st.floats(0, 1e6, allow_nan=False),
    st.booleans(),
    st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)),
    st.sampled_from(["*", "local:*", "local:v1.36.3>v1.37.2~nodes-lag=1"]),
)
def test_a_fault_survives_its_spec(
    action: str, component: str, when: float, replaced: bool, lasting: float | None, cells: str
) -> None:
    lasting = lasting if action == "stop" else None
    spec = f"{action}:{component}:{'replaced+' if replaced else ''}{when!r}"
    spec += f":{lasting!r}" if lasting is not None else ""
    spec += f"@{cells}"
    assert Fault.parse(spec) == Fault(action, component, when, cells, lasting, replaced)


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """A local cluster record ``faulty``; calling the result starts a new ``kwok`` process and
    records it in place of the old one (what an upgrade does)."""
    monkeypatch.setenv("SPIN_HARNESS_STATE", str(tmp_path / "state"))
    directory = state.cluster_dir("faulty")
    directory.mkdir(parents=True)
    record = state.ClusterState("faulty", directory, "v1.37.2", "v3.6.8", 1, owner=state.Owner.current())
    started: list[subprocess.Popen[bytes]] = []

    def replace_kwok() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(["sleep", "300"])
        started.append(proc)
        created = psutil.Process(proc.pid).create_time()
        record.processes["kwok"] = process.ProcessRecord("kwok", proc.pid, created, ("sleep",), "/dev/null")
        record.save()
        return proc

    replace_kwok()
    yield replace_kwok
    for proc in started:
        proc.kill()
        proc.wait()


def wait_for_status(proc: subprocess.Popen[bytes], wanted: str) -> None:
    deadline = time.monotonic() + 30
    while psutil.Process(proc.pid).status() != wanted:
        assert time.monotonic() < deadline, f"process {proc.pid} never became {wanted}"
        time.sleep(0.02)


def test_a_timed_freeze_is_thawed_by_itself(cluster: Callable[[], subprocess.Popen[bytes]]) -> None:
    timer = FaultTimer("faulty", [Fault.parse("stop:kwok:0:0.5")])
    pid = state.ClusterState.load(state.cluster_dir("faulty")).processes["kwok"].pid
    kwok = psutil.Process(pid)
    timer.start()
    try:
        deadline = time.monotonic() + 30
        while not any(line.startswith("cont kwok") for line in timer.applied):
            assert time.monotonic() < deadline, timer.applied
            time.sleep(0.02)
        assert kwok.status() != psutil.STATUS_STOPPED
    finally:
        applied = timer.stop()
    assert applied[0].startswith(f"stop kwok (pid {pid}) at ") and applied[0].endswith(" for 0.5s")
    assert applied[1].startswith(f"cont kwok (pid {pid}) at ") and len(applied) == 2


def test_a_freeze_without_end_lasts_until_the_hop_ends(cluster: Callable[[], subprocess.Popen[bytes]]) -> None:
    timer = FaultTimer("faulty", [Fault.parse("stop:kwok:0")]).start()
    pid = state.ClusterState.load(state.cluster_dir("faulty")).processes["kwok"].pid
    try:
        deadline = time.monotonic() + 30
        while psutil.Process(pid).status() != psutil.STATUS_STOPPED:
            assert time.monotonic() < deadline, timer.applied
            time.sleep(0.02)
    finally:
        applied = timer.stop()
    assert psutil.Process(pid).status() != psutil.STATUS_STOPPED
    assert [line.split(" (")[0] for line in applied] == ["stop kwok", "cont kwok"]


def test_a_replaced_fault_hits_the_new_process_only(cluster: Callable[[], subprocess.Popen[bytes]]) -> None:
    old = state.ClusterState.load(state.cluster_dir("faulty")).processes["kwok"].pid
    timer = FaultTimer("faulty", [Fault.parse("stop:kwok:replaced+0:600")]).start()
    try:
        time.sleep(0.5)  # several polls: nothing happens while the old process runs
        assert timer.applied == [] and psutil.Process(old).status() != psutil.STATUS_STOPPED
        new = cluster()
        wait_for_status(new, psutil.STATUS_STOPPED)
    finally:
        applied = timer.stop()
    assert psutil.Process(new.pid).status() != psutil.STATUS_STOPPED  # thawed when the hop ended
    assert applied[0].startswith(f"stop kwok (pid {new.pid})") and applied[1].startswith(f"cont kwok (pid {new.pid})")
    assert psutil.Process(old).status() != psutil.STATUS_STOPPED


def test_a_fault_after_the_hop_is_never_sent(cluster: Callable[[], subprocess.Popen[bytes]]) -> None:
    pid = state.ClusterState.load(state.cluster_dir("faulty")).processes["kwok"].pid
    timer = FaultTimer("faulty", [Fault.parse("kill:kwok:600"), Fault.parse("stop:kwok:replaced+0")]).start()
    applied = timer.stop()
    assert psutil.Process(pid).status() not in (psutil.STATUS_STOPPED, psutil.STATUS_ZOMBIE)
    assert applied == ["stop kwok: not applied (it was not replaced)"]
