"""Fixtures for end-to-end tests against real control planes."""

from __future__ import annotations

import os

import pytest

from harness.toolchain import goproxy
from harness.versions import KubeVersion


@pytest.fixture(scope="session")
def e2e_versions() -> tuple[KubeVersion, KubeVersion]:
    """Two consecutive minors to test on: SPIN_HARNESS_E2E_VERSIONS, or the newest two published."""
    raw = os.environ.get("SPIN_HARNESS_E2E_VERSIONS")
    if raw:
        first, second = (KubeVersion.parse(v.strip()) for v in raw.split(","))
        return first, second
    older, newer = goproxy.newest_minors(2)
    return older, newer
