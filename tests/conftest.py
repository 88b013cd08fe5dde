"""Test-wide settings: every test run gets its own cluster state directory.

The toolchain cache (``~/.cache/spin-harness``) stays shared, since builds are expensive and
checksummed; cluster state is isolated so tests never see or touch a developer's clusters.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session", autouse=True)
def isolated_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("spin-state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPIN_HARNESS_STATE", str(root))
        yield root
