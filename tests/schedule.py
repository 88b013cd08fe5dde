"""How the suite is spread over pytest-xdist workers (``--dist loadgroup --no-loadscope-reorder``).

Every test gets an ``xdist_group`` of its module, so a module's fixtures (a cluster built once
for all its tests) are made on one worker only. The kind modules share one group: two kind
clusters at once would make the kind cell's in-place upgrade, whose API outage is judged
against the smoke matrix's budget, compete for the two cores with another kind control plane.

xdist (3.8) hands out groups in the order of this list: one to each worker to start with, and
the next to a worker once fewer than three tests of its current group are left. The kind group
goes first, since it is the longest (11 to 14 minutes); the unit tests come next, so that what
is queued behind the kind group on its worker is short; then the end-to-end modules, longest
first, so that the run ends on short ones rather than on one worker finishing a long module
alone; except ``LAST``, which should not run beside the kind cell. A test marked ``kind`` in any
module joins the kind group.
"""

from __future__ import annotations

import pytest

#: Modules whose tests need a Docker engine and a kind cluster: run one after another.
KIND_GROUP = "kind"
KIND_MODULES = ("tests/e2e/test_kind_smoke.py", "tests/e2e/test_kind_provider.py")

#: The longest end-to-end modules, longest first (from ``--durations`` of full runs).
LONGEST_FIRST = (
    "tests/e2e/test_run.py",
    "tests/e2e/test_verdicts.py",
    "tests/e2e/test_faults.py",
    "tests/e2e/test_cleanup.py",
    "tests/e2e/test_api_warnings.py",
    "tests/scenarios/test_upgrade.py",
    "tests/scenarios/test_canonical.py",
    "tests/e2e/test_attribution.py",
    "tests/e2e/test_distributed.py",
    "tests/scenarios/test_failures.py",
    "tests/e2e/test_planted_breaks.py",
    "tests/e2e/test_gate.py",
    "tests/e2e/test_detection_corpus.py",
)

#: Modules handed out last, which in a full run is after the kind group (only the queue's order
#: says so: nothing holds them back if it empties sooner): the installed wheel's smoke run judges
#: its local hop's API outage against the smoke matrix's 15 s budget, and a local control plane
#: restarting beside the kind cell's two nodes on the same two cores was starved past it
#: (a hop of 103 s against 4-8 s) in two CI runs.
LAST = ("tests/e2e/test_packaging.py",)


def module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def group_of(item: pytest.Item) -> str:
    module = module_of(item)
    return KIND_GROUP if module in KIND_MODULES or item.get_closest_marker("kind") else module


def rank(item: pytest.Item) -> tuple[int, int]:
    module = module_of(item)
    if module in KIND_MODULES:
        return (0, KIND_MODULES.index(module))
    if item.get_closest_marker("kind"):
        return (0, len(KIND_MODULES))
    if module.startswith("tests/unit/"):
        return (1, 0)
    if module in LONGEST_FIRST:
        return (2, LONGEST_FIRST.index(module))
    if module in LAST:
        return (4, LAST.index(module))
    return (3, 0)


def group_and_order(items: list[pytest.Item]) -> list[pytest.Item]:
    """``items`` sorted as above (stable: a module's tests keep their order), each in its group."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(group_of(item)))
    return sorted(items, key=rank)
