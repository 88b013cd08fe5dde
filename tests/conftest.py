"""Test-wide settings: every test run gets its own cluster state directory; every skip is accounted for.

The toolchain cache (``~/.cache/spin-harness``) stays shared, since builds are expensive and
checksummed; cluster state is isolated so tests never see or touch a developer's clusters.
``SPIN_HARNESS_TEST_STATE`` names that state directory instead of a pytest temp dir, so a
caller (``scripts/test``) can ask ``spin-harness gc`` afterwards what the tests left behind.
Under pytest-xdist each worker keeps its own state root below it (``gw0``, ``gw1``, ...): the
cleanup tests check that a run left nothing in the state root, which another worker's live
clusters would otherwise fill. Ports stay unique across state roots
(``harness/providers/common/ports.py``).

``scripts/test`` runs the suite on several xdist workers with ``--dist loadgroup``; the order
and grouping below decide what runs where (``group_and_order``).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.schedule import group_and_order
from tests.skip_ledger import SkipLedger

settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipLedger(config), "spin-harness-skip-ledger")
    # A suite started in the background of a shell script (``nohup ... &``) inherits SIGINT
    # ignored, and so would every process a test starts; a process that ignores SIGINT from its
    # start cannot even trap it (bash), so the tests that press Ctrl-C on a run or on
    # scripts/test would hang or pass through. They need Ctrl-C back, in each xdist worker too.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (--dist loadgroup)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items[:] = group_and_order(items)


@pytest.fixture(scope="session", autouse=True)
def isolated_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    given = os.environ.get("SPIN_HARNESS_TEST_STATE")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    root = Path(given) if given else tmp_path_factory.mktemp("spin-state")
    if given and worker:
        root = root / worker
    root.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPIN_HARNESS_STATE", str(root))
        yield root
