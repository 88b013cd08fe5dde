"""Test-wide settings: every test run gets its own cluster state directory; every skip is accounted for.

The toolchain cache (``~/.cache/spin-harness``) stays shared, since builds are expensive and
checksummed; cluster state is isolated so tests never see or touch a developer's clusters.
``SPIN_HARNESS_TEST_STATE`` names that state directory instead of a pytest temp dir, so a
caller (``scripts/test``) can ask ``spin-harness gc`` afterwards what the tests left behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.skip_ledger import SkipLedger

settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipLedger(config), "spin-harness-skip-ledger")


@pytest.fixture(scope="session", autouse=True)
def isolated_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    given = os.environ.get("SPIN_HARNESS_TEST_STATE")
    root = Path(given) if given else tmp_path_factory.mktemp("spin-state")
    root.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPIN_HARNESS_STATE", str(root))
        yield root
