"""Properties of matrix expansion and loading, over random published-version sets and inputs.

The example tests pin behaviour on today's releases; these make sure it holds for whatever
upstream publishes next (gaps, odd patch sets) and that no input, however mangled, escapes
the loader as anything but an ``InputError``.
"""

from __future__ import annotations

import itertools
import string
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import InputError, VersionError
from harness.matrix import Cell, build_path, expand_range, load_matrix, parse_cell_id, plan_nodes
from harness.matrix.model import KUBELET_MAX_SKEW, PlatformStep
from harness.matrix.spec import KNOWN_PROVIDERS
from harness.versions import KubeVersion, upgrade_refusal

SETTINGS = settings(max_examples=200, deadline=None, derandomize=False)
LOW, HIGH = 31, 40  # the harness refuses lines older than 1.31

# ---------------------------------------------------------------------------------------------
# Strategies


@st.composite
def available_sets(draw: st.DrawFn) -> list[KubeVersion]:
    """Published versions: contiguous minors most of the time, sometimes with gaps."""
    if draw(st.booleans()):
        first = draw(st.integers(LOW, HIGH))
        minors = set(range(first, draw(st.integers(first, HIGH)) + 1))
    else:
        minors = draw(st.sets(st.integers(LOW, HIGH), min_size=1, max_size=10))
    out: list[KubeVersion] = []
    for minor in sorted(minors):
        patches = draw(st.sets(st.integers(0, 6), min_size=1, max_size=4))
        out.extend(KubeVersion(1, minor, p) for p in patches)
    return sorted(out)


def wanted_versions(available: list[KubeVersion]) -> st.SearchStrategy[KubeVersion]:
    """A version as a matrix might name it: a published one, its minor, or anything nearby."""
    return st.one_of(
        st.sampled_from(available),
        st.sampled_from(available).map(lambda v: KubeVersion(v.major, v.minor, -1)),
        st.builds(KubeVersion, st.just(1), st.integers(LOW, HIGH + 1), st.integers(-1, 7)),
    )


@st.composite
def chains(draw: st.DrawFn) -> list[KubeVersion]:
    """Exact version chains that obey the skew policy (minor steps and patch steps)."""
    minor = draw(st.integers(LOW, HIGH - 4))
    patch = draw(st.integers(0, 5))
    chain = [KubeVersion(1, minor, patch)]
    for _ in range(draw(st.integers(1, 5))):
        last = chain[-1]
        if draw(st.booleans()) or last.patch >= 9:
            chain.append(KubeVersion(1, last.minor + 1, draw(st.integers(0, 5))))
        else:
            chain.append(KubeVersion(1, last.minor, draw(st.integers(last.patch + 1, 9))))
    return chain


NAMES = st.text(string.ascii_lowercase, min_size=1, max_size=4).map(lambda s: f"c-{s}")
COMPONENT_VERSIONS = st.lists(
    st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=6).filter(lambda s: s[0].isalnum()),
    min_size=1,
    max_size=4,
    unique=True,
)


@st.composite
def platform_plans(draw: st.DrawFn, version_count: int) -> tuple[dict[str, list[str]], list[PlatformStep]]:
    """Components and a valid set of steps for a path with ``version_count`` versions."""
    components = draw(st.dictionaries(NAMES, COMPONENT_VERSIONS, max_size=3))
    slots = [(0, False)] + [(hop, with_k) for hop in range(1, version_count) for with_k in (True, False)]
    steps: list[PlatformStep] = []
    for name, versions in components.items():
        count = draw(st.integers(0, min(len(versions) - 1, len(slots))))
        if not count:
            continue
        targets = sorted(draw(st.sets(st.integers(1, len(versions) - 1), min_size=count, max_size=count)))
        chosen = sorted(draw(st.sets(st.sampled_from(slots), min_size=count, max_size=count)), key=_slot_order)
        steps.extend(
            PlatformStep(at_hop, name, versions[t], with_k) for (at_hop, with_k), t in zip(chosen, targets, strict=True)
        )
    return components, draw(st.permutations(steps))


def _slot_order(slot: tuple[int, bool]) -> tuple[int, bool]:
    return slot[0], not slot[1]


# ---------------------------------------------------------------------------------------------
# Expansion


def _oracle(
    start: KubeVersion, target: KubeVersion, available: list[KubeVersion]
) -> tuple[KubeVersion, KubeVersion] | None:
    """Independent statement of when from/to expansion must succeed, and its ends."""

    def resolve(wanted: KubeVersion) -> KubeVersion | None:
        line = [v for v in available if v.minor == wanted.minor]
        if wanted.is_partial:
            return max(line) if line else None
        return wanted if wanted in line else None

    first, last = resolve(start), resolve(target)
    if first is None or last is None or last <= first:
        return None
    minors = {v.minor for v in available}
    if any(m not in minors for m in range(first.minor + 1, last.minor)):
        return None
    return first, last


@SETTINGS
@given(st.data())
def test_expanded_paths_obey_the_skew_policy(data: st.DataObject) -> None:
    available = data.draw(available_sets())
    start = data.draw(wanted_versions(available), label="from")
    target = data.draw(wanted_versions(available), label="to")
    expected = _oracle(start, target, available)
    try:
        chain = expand_range(start, target, available)
    except VersionError:
        assert expected is None, f"{start} -> {target} should expand over {available}"
        return
    assert expected is not None
    assert (chain[0], chain[-1]) == expected  # starts at from, reaches to
    assert len(chain) >= 2
    assert len(set(chain)) == len(chain)  # never repeats a version
    for current, following in itertools.pairwise(chain):
        assert upgrade_refusal(current, following) is None
    for middle in chain[1:-1]:  # every version in between is the newest patch of its minor
        assert middle == max(v for v in available if v.minor == middle.minor)
    assert set(chain) <= set(available)


@SETTINGS
@given(chains(), st.integers(0, 3))
def test_node_plan_respects_lag_and_kubelet_skew(chain: list[KubeVersion], lag: int) -> None:
    nodes = plan_nodes(chain, lag)
    assert len(nodes) == len(chain)
    assert nodes[0] == chain[0] and nodes[-1] == chain[-1]
    for index, (control_plane, node) in enumerate(zip(chain, nodes, strict=True)):
        assert node <= control_plane
        assert control_plane.minor - node.minor <= lag
        if index:
            assert node >= nodes[index - 1]  # nodes never go down
            assert control_plane.minor - nodes[index - 1].minor <= max(KUBELET_MAX_SKEW, 1)  # mid-hop
    if lag == 0:
        assert nodes == tuple(chain)


@SETTINGS
@given(st.data())
def test_cell_ids_round_trip(data: st.DataObject) -> None:
    chain = data.draw(chains())
    lag = data.draw(st.integers(0, 3))
    components, steps = data.draw(platform_plans(len(chain)))
    provider = data.draw(st.sampled_from(KNOWN_PROVIDERS))
    cell = Cell(provider, build_path(chain, lag, steps, components))
    key = parse_cell_id(cell.id)
    assert key == cell.key
    assert key.id == cell.id
    assert key.versions == tuple(chain)
    assert "::" not in cell.id and not any(ch.isspace() for ch in cell.id)
    # Every step shows up as exactly one hop move, so nothing in the plan is silently dropped.
    moves = [(m.component, m.to_version) for hop in cell.path.hops for m in hop.platform]
    assert sorted(moves) == sorted((s.component, s.to) for s in steps)


# ---------------------------------------------------------------------------------------------
# Loader fuzz: anything that is not a valid matrix is an InputError, never a traceback.

AVAILABLE = [KubeVersion(1, m, p) for m in range(33, 38) for p in range(3)]
FUZZ_PATH = Path("fuzz-matrix.yaml")

SCHEMA_KEYS = [
    "name", "description", "providers", "paths", "from", "to", "hops", "nodes_lag", "platform_steps",
    "scenarios", "include", "exclude", "probes", "budget", "api_max_outage_seconds", "min_availability",
    "platform", "components", "versions", "steps", "at_hop", "component", "with_kubernetes",
    "workloads", "allowlist", "chart", "values", "path",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 2000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1.35", "1.36", "v1.37.1", "1.3x", "local", "kind", "*", "v1", "", ".", "\x00", "1.99"]),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(SCHEMA_KEYS), st.text(max_size=5)), inner, max_size=4),
    ),
    max_leaves=20,
)
YAML_TOKENS = st.sampled_from([
    "name:", "providers:", "paths:", "- ", "from:", "to:", "hops:", "[", "]", "{", "}", ",", ":",
    "\n", "  ", "\t", "&a ", "*a", "!!int ", "!!timestamp ", "!foo ", '"1.36"', "1.35", "'x", "? ",
    "|", ">", "---\n", "%YAML 1.1\n", "local", "#", "nodes_lag: 9", "platform:", "@", "`",
])  # fmt: skip


def _valid_document() -> dict[str, Any]:
    return {
        "name": "fuzz",
        "providers": ["local", "kind"],
        "paths": [
            {"from": "1.35", "to": "1.37", "nodes_lag": 1},
            {"hops": ["1.34", "1.35"], "platform_steps": [{"at_hop": 1, "component": "crd", "to": "v2"}]},
        ],
        "scenarios": {"include": ["*"], "exclude": ["slow-*"]},
        "probes": {"budget": {"api_max_outage_seconds": 5, "min_availability": 0.99}},
        "platform": {"components": {"crd": {"versions": ["v1", "v2"]}}, "steps": []},
    }


def _leaf_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_leaf_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.extend(_leaf_paths(value, (*prefix, index)))
    return out


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    """A valid matrix with one part replaced, deleted or extended: near misses find the most bugs."""
    document: Any = _valid_document()
    where = draw(st.sampled_from(_leaf_paths(document)))
    action = draw(st.sampled_from(["replace", "delete", "add"]))
    if not where:
        document = draw(VALUES)
    else:
        parent = document
        for part in where[:-1]:
            parent = parent[part]
        if action == "replace":
            parent[where[-1]] = draw(VALUES)
        elif action == "delete":
            del parent[where[-1]]
        elif isinstance(parent[where[-1]], dict):
            parent[where[-1]][draw(st.sampled_from(SCHEMA_KEYS))] = draw(VALUES)
        else:
            parent[where[-1]] = draw(VALUES)
    return yaml.safe_dump(document, allow_unicode=True)


def _load_never_crashes(text: str) -> None:
    try:
        load_matrix(FUZZ_PATH, AVAILABLE, text=text)
    except InputError as exc:
        assert str(exc).startswith(str(FUZZ_PATH)), f"error does not name the file: {exc}"


@SETTINGS
@given(st.one_of(st.text(max_size=200), st.lists(YAML_TOKENS, max_size=30).map("".join)))
def test_loader_garbage_text_is_an_input_error(text: str) -> None:
    _load_never_crashes(text)


@SETTINGS
@given(VALUES.map(lambda value: yaml.safe_dump(value, allow_unicode=True)))
def test_loader_random_mappings_are_input_errors(text: str) -> None:
    _load_never_crashes(text)


@SETTINGS
@given(mutated_documents())
def test_loader_near_miss_documents_are_input_errors(text: str) -> None:
    _load_never_crashes(text)
