"""A create's work beside its steps is waited for, and its error kept, when the create fails."""

from __future__ import annotations

import threading

import pytest

from harness.providers.common.background import Abandoned, beside


class Loader:
    """Work that starts, blocks until released, then fails with ``error`` (or succeeds)."""

    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.started = threading.Event()
        self.released = threading.Event()
        self.finished = threading.Event()
        self.messages: list[str] = []

    def __call__(self) -> None:
        self.started.set()
        assert self.released.wait(30), "never released"
        self.finished.set()
        if self.error is not None:
            raise self.error

    def progress(self, message: str) -> None:
        # The wait starts only once the body has failed: release the work then, so that it
        # is still running when the body fails.
        self.messages.append(message)
        self.released.set()


def test_a_failed_body_waits_for_the_running_work_and_notes_its_error() -> None:
    loader = Loader(OSError("docker image save: no space left on device"))
    with pytest.raises(TimeoutError) as raised, beside(loader, title="kind images", progress=loader.progress):
        assert loader.started.wait(30)
        raise TimeoutError("nodes not ready")
    assert loader.finished.is_set(), "the failure went on while the work still ran"
    assert raised.value.__notes__ == ["kind images failed too: OSError: docker image save: no space left on device"]
    assert loader.messages == [
        "waiting for kind images to stop before cleaning up",
        "kind images failed too: docker image save: no space left on device",
    ]


def test_a_failed_body_waits_for_work_that_succeeds_and_adds_no_note() -> None:
    loader = Loader(None)
    with pytest.raises(KeyboardInterrupt) as raised, beside(loader, title="kind images", progress=loader.progress):
        assert loader.started.wait(30)
        raise KeyboardInterrupt
    assert loader.finished.is_set()
    assert not getattr(raised.value, "__notes__", [])


def test_the_works_own_error_awaited_by_the_body_is_not_noted_twice() -> None:
    loader = Loader(RuntimeError("traefik build failed"))
    loader.released.set()
    with pytest.raises(RuntimeError) as raised, beside(loader, title="kind images", progress=loader.progress) as work:
        work.result()
    assert not getattr(raised.value, "__notes__", [])
    assert loader.messages == []


def test_a_body_that_succeeds_returns_the_works_result_through_its_future() -> None:
    loader = Loader(None)
    loader.released.set()
    with beside(loader, title="kind images", progress=loader.progress) as work:
        assert work.result() is None
    assert loader.finished.is_set()


def test_work_waiting_on_what_a_failed_body_would_make_is_told_to_stop_and_not_noted() -> None:
    creation_failed = threading.Event()
    stopped = threading.Event()
    messages: list[str] = []

    def waits_for_nodes() -> None:
        if not creation_failed.wait(30):
            raise AssertionError("never told that the body failed")
        stopped.set()
        raise Abandoned("kind-control-plane: the cluster's creation failed before its containerd answered")

    with (
        pytest.raises(RuntimeError) as raised,
        beside(waits_for_nodes, title="kind images", progress=messages.append, abandoned=creation_failed),
    ):
        raise RuntimeError("kind create cluster failed")
    assert stopped.is_set(), "the failure went on while the work still waited"
    assert not getattr(raised.value, "__notes__", [])
    assert not any("failed too" in m for m in messages)


def test_the_abandoned_signal_stays_clear_while_the_body_succeeds() -> None:
    creation_failed = threading.Event()
    loader = Loader(None)
    loader.released.set()
    with beside(loader, title="kind images", progress=loader.progress, abandoned=creation_failed) as work:
        work.result()
    assert not creation_failed.is_set()
