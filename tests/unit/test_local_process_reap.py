"""Reaping finished component processes is safe from several threads at once.

An upgrade stops the components whose command line changes side by side, and each stop reaps
the finished children: two threads can find the same finished child.
"""

from __future__ import annotations

import threading
import time

import pytest

from harness.providers.local import process


class SlowToAnswer:
    """A finished child whose ``poll`` takes a moment, so both threads see it before either removes it."""

    def poll(self) -> int:
        time.sleep(0.05)
        return 0


def test_two_threads_reaping_the_same_finished_child_do_not_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process, "_children", {4242: SlowToAnswer()})
    errors: list[BaseException] = []

    def reap() -> None:
        try:
            process._reap()
        except BaseException as exc:  # any error of a thread fails the test
            errors.append(exc)

    threads = [threading.Thread(target=reap) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert process._children == {}
