"""A cell's teardowns run together, and each item still gets its own scenario's answer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from harness.run.teardowns import Teardowns
from harness.scenarios.results import PhaseResult, Status

VERSION = "v1.36.3"


@dataclass
class Scenario:
    name: str


def passed(scenario: Scenario, phase: str, version: str) -> PhaseResult:
    assert (phase, version) == ("teardown", VERSION)
    return PhaseResult(scenario=scenario.name, phase=phase, status=Status.PASSED)


def test_every_teardown_is_under_way_before_the_first_item_has_its_answer() -> None:
    """Three teardowns that each wait for the other two: run one after another, they could not end."""
    all_started = threading.Barrier(3, timeout=10)
    threads: dict[str, str] = {}

    def teardown(scenario: Scenario, phase: str, version: str) -> PhaseResult:
        threads[scenario.name] = threading.current_thread().name
        all_started.wait()
        return passed(scenario, phase, version)

    scenarios = [Scenario("a"), Scenario("b"), Scenario("c")]
    teardowns = Teardowns(scenarios, teardown)
    teardowns.start(VERSION)
    results = [teardowns.result(s, VERSION) for s in scenarios]
    assert [r.status if r else None for r in results] == [Status.PASSED] * 3
    assert threads == {name: f"teardown {name}" for name in "abc"}


def test_each_item_raises_its_own_scenarios_error_and_only_that() -> None:
    class Refused(AssertionError):
        pass

    def teardown(scenario: Scenario, phase: str, version: str) -> PhaseResult:
        if scenario.name == "broken":
            raise Refused("namespace tenant-alpha is still there after 300 s")
        if scenario.name == "skipped":
            pytest.skip("nothing to tear down here")
        return passed(scenario, phase, version)

    broken, skipped, fine = Scenario("broken"), Scenario("skipped"), Scenario("fine")
    teardowns = Teardowns([broken, skipped, fine], teardown)
    teardowns.start(VERSION)
    with pytest.raises(Refused, match="still there after 300 s"):
        teardowns.result(broken, VERSION)
    with pytest.raises(pytest.skip.Exception, match="nothing to tear down"):
        teardowns.result(skipped, VERSION)
    result = teardowns.result(fine, VERSION)
    assert result is not None and result.status is Status.PASSED


def thread_recording(ran_on: dict[str, str]) -> Callable[[Scenario, str, str], PhaseResult]:
    """A teardown that passes and notes the thread it ran on, by scenario."""

    def teardown(scenario: Scenario, phase: str, version: str) -> PhaseResult:
        ran_on[scenario.name] = threading.current_thread().name
        return passed(scenario, phase, version)

    return teardown


def test_only_the_selected_start_together_and_a_late_one_runs_on_the_callers_thread() -> None:
    ran_on: dict[str, str] = {}
    chosen, late = Scenario("chosen"), Scenario("late")
    teardowns = Teardowns([chosen, late], thread_recording(ran_on))
    teardowns.start(VERSION, selected=["chosen"])
    teardowns.start(VERSION)  # only the first call starts anything
    assert teardowns.result(chosen, VERSION) is not None
    assert ran_on == {"chosen": "teardown chosen"}
    assert teardowns.result(late, VERSION) is not None
    assert ran_on["late"] == threading.current_thread().name


def test_a_result_asked_before_any_start_runs_only_that_one_on_the_callers_thread() -> None:
    ran_on: dict[str, str] = {}
    first, second = Scenario("first"), Scenario("second")
    teardowns = Teardowns([first, second], thread_recording(ran_on))
    teardowns.result(first, VERSION)
    assert ran_on == {"first": threading.current_thread().name}


def test_teardowns_still_running_are_named() -> None:
    release = threading.Event()

    def teardown(scenario: Scenario, phase: str, version: str) -> PhaseResult:
        if scenario.name == "slow":
            release.wait(10)
        return passed(scenario, phase, version)

    slow, quick = Scenario("slow"), Scenario("quick")
    teardowns = Teardowns([slow, quick], teardown)
    assert teardowns.unfinished() == []
    teardowns.start(VERSION)
    teardowns.result(quick, VERSION)
    assert teardowns.unfinished() == ["slow"]
    release.set()
    teardowns.result(slow, VERSION)
    assert teardowns.unfinished() == []
