"""When a platform ValidatingAdmissionPolicy counts as in force after an install."""

from __future__ import annotations

import pytest

from harness.errors import InputError
from harness.platform_layer import policy_type_checked


@pytest.mark.parametrize(("generation", "observed"), [(1, None), (2, 1), (None, None)])
def test_not_yet_type_checked(generation: int | None, observed: int | None) -> None:
    assert not policy_type_checked("p", generation, observed, [])


def test_type_checked_at_the_current_generation() -> None:
    assert policy_type_checked("p", 2, 2, [])


def test_type_check_warnings_are_an_error_naming_the_policy() -> None:
    with pytest.raises(InputError, match=r"'no-host-network'.*no such key: hostNet"):
        policy_type_checked("no-host-network", 1, 1, ["spec.validations[0].expression: no such key: hostNet"])


def test_warnings_of_an_older_generation_are_not_yet_an_answer() -> None:
    assert not policy_type_checked("p", 2, 1, ["spec.validations[0].expression: stale"])
