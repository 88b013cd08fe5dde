"""Matrix loading, expansion, cell ids and rendering, against an injected version list.

Every bad-input case checks the three things a person needs to fix a matrix file: the file
name, the line, and the field, plus the reason where it matters.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.errors import InputError, VersionError
from harness.matrix import (
    Cell,
    build_path,
    expand_range,
    load_matrix,
    parse_cell_id,
    plan_nodes,
    published_version,
    select_cells,
    select_scenarios,
    show,
    step_id,
)
from harness.matrix.model import PlatformStep
from harness.versions import KubeVersion
from harness.workloads.manifest import WorkloadInput

REPO = Path(__file__).resolve().parents[2]
MATRICES = REPO / "matrices"

#: What the module proxy published when these tests were written (newest patches
#: v1.35.4, v1.36.3, v1.37.2), plus an older line for longer paths.
AVAILABLE = [
    KubeVersion(1, minor, patch) for minor, count in ((34, 7), (35, 5), (36, 4), (37, 3)) for patch in range(count)
]


def v(text: str) -> KubeVersion:
    return KubeVersion.parse(text)


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def load_error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_matrix(path, AVAILABLE)
    return str(info.value)


# ---------------------------------------------------------------------------------------------
# Shipped matrices


def test_smoke_is_newest_two_minors_one_hop_local() -> None:
    matrix = load_matrix(MATRICES / "smoke.yaml", AVAILABLE)
    assert matrix.name == "smoke"
    assert [c.id for c in matrix.cells] == ["local:v1.36.3>v1.37.2"]
    assert matrix.scenarios.include == ("*",)
    assert matrix.scenarios.exclude == ()


def test_nightly_is_three_minors_two_hops_every_provider() -> None:
    matrix = load_matrix(MATRICES / "nightly.yaml", AVAILABLE)
    assert [c.id for c in matrix.cells] == [
        "local:v1.35.4>v1.36.3>v1.37.2",
        "kind:v1.35.4>v1.36.3>v1.37.2",
        "k3d:v1.35.4>v1.36.3>v1.37.2",
    ]


def test_gate_template_loads_as_shipped() -> None:
    matrix = load_matrix(MATRICES / "gate.yaml", AVAILABLE)
    assert [c.id for c in matrix.cells] == ["local:v1.36.3>v1.37.2"]
    assert matrix.budget.min_availability == pytest.approx(0.999)
    assert matrix.workloads == ()


def test_minors_follow_new_patches_without_editing_files() -> None:
    newer = [*AVAILABLE, v("v1.37.3")]
    matrix = load_matrix(MATRICES / "smoke.yaml", newer)
    assert [c.id for c in matrix.cells] == ["local:v1.36.3>v1.37.3"]


# ---------------------------------------------------------------------------------------------
# Expansion


def test_from_to_expands_one_minor_at_a_time_on_newest_patches() -> None:
    assert expand_range(KubeVersion.parse_partial("1.35"), KubeVersion.parse_partial("1.37"), AVAILABLE) == (
        v("v1.35.4"),
        v("v1.36.3"),
        v("v1.37.2"),
    )


def test_from_exact_version_is_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: pinned
        providers: [local]
        paths:
          - from: "1.35.1"
            to: "1.37"
        """,
    )
    assert [c.id for c in load_matrix(path, AVAILABLE).cells] == ["local:v1.35.1>v1.36.3>v1.37.2"]


def test_patch_upgrade_within_a_minor_is_one_hop() -> None:
    assert expand_range(v("v1.36.1"), v("v1.36.3"), AVAILABLE) == (v("v1.36.1"), v("v1.36.3"))


def test_oldest_supported_minor_resolves() -> None:
    # A bare minor has patch -1, which orders below x.y.0; it must not count as too old.
    available = [v("v1.31.0"), v("v1.31.2"), v("v1.32.0")]
    assert published_version(KubeVersion.parse_partial("1.31"), available) == v("v1.31.2")


def test_missing_intermediate_minor_is_refused() -> None:
    gap = [x for x in AVAILABLE if x.minor != 36]
    with pytest.raises(VersionError, match=r"no 1\.36 release is published"):
        expand_range(KubeVersion.parse_partial("1.35"), KubeVersion.parse_partial("1.37"), gap)


def test_nodes_follow_control_plane_without_lag() -> None:
    versions = [v("v1.34.6"), v("v1.35.4"), v("v1.36.3"), v("v1.37.2")]
    assert plan_nodes(versions, 0) == tuple(versions)


def test_nodes_lag_keeps_nodes_behind_and_catches_up_on_last_hop() -> None:
    versions = [v("v1.34.6"), v("v1.35.4"), v("v1.36.3"), v("v1.37.2")]
    assert plan_nodes(versions, 1) == (v("v1.34.6"), v("v1.34.6"), v("v1.36.3"), v("v1.37.2"))
    assert plan_nodes(versions, 2) == (v("v1.34.6"), v("v1.34.6"), v("v1.34.6"), v("v1.37.2"))


def test_nodes_lag_never_exceeds_kubelet_skew_mid_hop() -> None:
    versions = [KubeVersion(1, m, 0) for m in range(31, 37)]
    plan = plan_nodes(versions, 3)
    for index in range(1, len(versions)):
        assert versions[index].minor - plan[index - 1].minor <= 3


def test_platform_steps_become_hops_in_execution_order() -> None:
    components = {"platform-crd": ["v1", "v2"], "webhook-policy": ["2025.1", "2026.1"]}
    steps = [
        PlatformStep(1, "webhook-policy", "2026.1", with_kubernetes=False),
        PlatformStep(1, "platform-crd", "v2", with_kubernetes=True),
    ]
    path = build_path([v("v1.35.4"), v("v1.36.3")], 0, steps, components)
    assert [(h.kind, h.control_plane, [m.component for m in h.platform]) for h in path.hops] == [
        ("create", v("v1.35.4"), []),
        ("upgrade", v("v1.36.3"), ["platform-crd"]),
        ("platform", v("v1.36.3"), ["webhook-policy"]),
    ]
    assert path.hops[-1].platform_versions == (("platform-crd", "v2"), ("webhook-policy", "2026.1"))
    assert path.label == "v1.35.4>v1.36.3+platform-crd@v2>+webhook-policy@2026.1"


# ---------------------------------------------------------------------------------------------
# Bad input: file, line, field, reason


def test_unknown_field_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers: [local]
        paths:
          - from: "1.35"
            to: "1.36"
        scenarios:
          inclde: ["*"]
        """,
    )
    message = load_error(path)
    assert f"{path}:7: scenarios.inclde: unknown field" in message


def test_hops_skipping_a_minor_is_refused_at_that_hop(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers: [local]
        paths:
          - hops:
              - "1.35"
              - "1.37"
        """,
    )
    message = load_error(path)
    assert f"{path}:6: paths[0].hops[1]:" in message
    assert "skips minor version" in message


def test_hops_going_down_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers: [local]
        paths:
          - hops: ["1.36", "1.35"]
        """,
    )
    message = load_error(path)
    assert f"{path}:4: paths[0].hops[1]:" in message
    assert "downgrade" in message


def test_from_after_to_is_refused_at_to(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers: [local]
        paths:
          - from: "1.37"
            to: "1.35"
        """,
    )
    message = load_error(path)
    assert f"{path}:5: paths[0].to:" in message
    assert "downgrade" in message


def test_same_from_and_to_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers: [local]
        paths:
          - {from: "1.36", to: "1.36"}
        """,
    )
    message = load_error(path)
    assert f"{path}:4: paths[0].to:" in message
    assert "already runs v1.36.3" in message


def test_unknown_provider(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers:
          - local
          - kinder
        paths:
          - {from: "1.35", to: "1.36"}
        """,
    )
    message = load_error(path)
    assert f"{path}:4: providers[1]: unknown provider 'kinder'" in message
    assert "local, kind, k3d" in message


def test_duplicate_provider(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers: [local, local]
        paths:
          - {from: "1.35", to: "1.36"}
        """,
    )
    assert f"{path}:2: providers[1]: provider 'local' is listed twice" in load_error(path)


def test_malformed_version(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers: [local]
        paths:
          - from: "1.35"
            to: "1.3x"
        """,
    )
    message = load_error(path)
    assert f"{path}:5: paths[0].to: '1.3x' is not a Kubernetes version" in message


def test_unquoted_version_is_refused_with_a_quoting_hint(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers: [local]
        paths:
          - from: 1.35
            to: "1.36"
        """,
    )
    message = load_error(path)
    assert f"{path}:4: paths[0].from:" in message
    assert 'quote it ("1.35")' in message


def test_unpublished_patch_lists_published_patches_of_that_minor(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers: [local]
        paths:
          - hops: ["1.35", "1.36.9"]
        """,
    )
    with pytest.raises(VersionError) as info:
        load_matrix(path, AVAILABLE)
    message = str(info.value)
    assert f"{path}:4: paths[0].hops[1]: v1.36.9 is not published" in message
    assert "v1.36.0, v1.36.1, v1.36.2, v1.36.3" in message


def test_unpublished_minor_lists_published_minors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers: [local]
        paths:
          - from: "1.37"
            to: "1.38"
        """,
    )
    message = load_error(path)
    assert f"{path}:5: paths[0].to: no 1.38 release is published" in message
    assert "1.34, 1.35, 1.36, 1.37" in message


def test_unsupported_old_version(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers: [local]
        paths:
          - from: "1.29"
            to: "1.30"
        """,
    )
    message = load_error(path)
    assert f"{path}:4: paths[0].from:" in message
    assert "older than 1.31" in message


def test_duplicate_path_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers: [local]
        paths:
          - from: "1.35"
            to: "1.37"
          - hops: ["1.35", "1.36", "1.37"]
        """,
    )
    message = load_error(path)
    assert f"{path}:6: paths[1]: same path as paths[0] (v1.35.4>v1.36.3>v1.37.2)" in message


def test_path_needs_exactly_one_form(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers: [local]
        paths:
          - from: "1.35"
            hops: ["1.35", "1.36"]
        """,
    )
    assert f"{path}:4: paths[0]: give either hops or from/to, not both" in load_error(path)


def test_nodes_lag_out_of_range(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        providers: [local]
        paths:
          - from: "1.35"
            to: "1.36"
            nodes_lag: 4
        """,
    )
    assert f"{path}:6: paths[0].nodes_lag:" in load_error(path)


def test_missing_required_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: bad
        paths:
          - {from: "1.35", to: "1.36"}
        """,
    )
    assert f"{path}:1: providers: required field is missing" in load_error(path)


PLATFORM = """
name: plat
providers: [local]
paths:
  - {from: "1.35", to: "1.36"}
platform:
  components:
    platform-crd: {versions: [v1, v2]}
  steps:
    - {at_hop: 1, component: STEP_COMPONENT, to: STEP_TO, with_kubernetes: true}
"""


@pytest.mark.parametrize(
    ("component", "to", "field", "reason"),
    [
        ("webhook", "v2", "component", "unknown platform component 'webhook' (declared: platform-crd)"),
        ("platform-crd", "v3", "to", "'v3' is not a listed version of platform-crd (v1, v2)"),
        ("platform-crd", "v1", "to", "platform-crd is already at v1 by then"),
    ],
)
def test_bad_platform_step(tmp_path: Path, component: str, to: str, field: str, reason: str) -> None:
    path = write(tmp_path, PLATFORM.replace("STEP_COMPONENT", component).replace("STEP_TO", to))
    message = load_error(path)
    assert f"{path}:9: platform.steps[0].{field}: {reason}" in message


def test_platform_step_going_back_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: plat
        providers: [local]
        paths:
          - from: "1.35"
            to: "1.37"
            platform_steps:
              - {at_hop: 2, component: platform-crd, to: v1}
              - {at_hop: 1, component: platform-crd, to: v2}
        platform:
          components:
            platform-crd: {versions: [v1, v2]}
        """,
    )
    message = load_error(path)
    assert f"{path}:7: paths[0].platform_steps[0].to: platform-crd would go back from v2 to v1" in message


def test_inherited_step_past_the_end_names_the_path(tmp_path: Path) -> None:
    text = PLATFORM.replace("STEP_COMPONENT", "platform-crd").replace("STEP_TO", "v2").replace("at_hop: 1", "at_hop: 2")
    path = write(tmp_path, text)
    message = load_error(path)
    assert f"{path}:9: platform.steps[0].at_hop: at_hop 2 is past the end" in message
    assert "applied to paths[0]: v1.35.4>v1.36.3" in message


def test_step_with_kubernetes_at_creation_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: plat
        providers: [local]
        paths:
          - from: "1.35"
            to: "1.36"
            platform_steps:
              - {at_hop: 0, component: platform-crd, to: v2, with_kubernetes: true}
        platform:
          components:
            platform-crd: {versions: [v1, v2]}
        """,
    )
    assert f"{path}:7: paths[0].platform_steps[0].with_kubernetes: at_hop 0" in load_error(path)


def test_missing_allowlist_and_workloads(tmp_path: Path) -> None:
    base = 'name: refs\nproviders: [local]\npaths:\n  - {from: "1.35", to: "1.36"}\n'
    path = tmp_path / "m.yaml"
    path.write_text(base + "allowlist: nope.yaml\n")
    assert f"{path}:5: allowlist: no file {tmp_path / 'nope.yaml'}" in load_error(path)
    path.write_text(base + "workloads:\n  - tenants\n")
    assert f"{path}:6: workloads[0]: no file or directory {tmp_path / 'tenants'}" in load_error(path)


def test_allowlist_and_workloads_resolve_relative_to_the_matrix(tmp_path: Path) -> None:
    (tmp_path / "allow.yaml").write_text("{}\n")
    (tmp_path / "tenants").mkdir()
    path = write(
        tmp_path,
        """
        name: refs
        providers: [local]
        paths:
          - {from: "1.35", to: "1.36"}
        allowlist: allow.yaml
        workloads: [tenants]
        """,
    )
    matrix = load_matrix(path, AVAILABLE)
    assert matrix.allowlist == (tmp_path / "allow.yaml").resolve()
    assert matrix.workloads == (WorkloadInput((tmp_path / "tenants").resolve()),)


def test_workloads_may_be_files_and_charts_with_values(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "Chart.yaml").write_text("apiVersion: v2\nname: shop\nversion: 0.1.0\n")
    (tmp_path / "prod.yaml").write_text("replicas: 2\n")
    (tmp_path / "dump.json").write_text("{}")
    base = 'name: refs\nproviders: [local]\npaths:\n  - {from: "1.35", to: "1.36"}\nworkloads:\n'
    path = tmp_path / "m.yaml"
    path.write_text(base + "  - dump.json\n  - {chart: shop, values: [prod.yaml]}\n")
    assert load_matrix(path, AVAILABLE).workloads == (
        WorkloadInput((tmp_path / "dump.json").resolve()),
        WorkloadInput((tmp_path / "shop").resolve(), ((tmp_path / "prod.yaml").resolve(),)),
    )
    path.write_text(base + "  - {chart: shop, values: [prod.yaml, nope.yaml]}\n")
    assert f"{path}:6: workloads[0].values[1]: no file {tmp_path / 'nope.yaml'}" in load_error(path)
    path.write_text(base + "  - {chart: ., values: [prod.yaml]}\n")
    assert f"{path}:6: workloads[0].chart: {tmp_path} has no Chart.yaml" in load_error(path)
    path.write_text(base + "  - {path: shop, values: [prod.yaml]}\n")
    assert f"{path}:6: workloads[0]: values apply to a chart only" in load_error(path)
    path.write_text(base + "  - {chart: shop, value: [prod.yaml]}\n")
    assert f"{path}:6: workloads[0].value: unknown field" in load_error(path)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: x\nproviders: [local\n", 3),  # unterminated flow sequence
        ("name: x\nproviders: [local]\nname: y\n", 3),  # duplicate key
        ("name: x\nproviders: [local]\npaths: !!int abc\n", 3),  # malformed typed scalar
        ("name: x\nproviders: [local]\npaths: !custom x\n", 3),  # unknown tag
    ],
)
def test_unreadable_yaml_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    assert load_error(path).startswith(f"{path}:{line}")


def test_recursive_alias_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "alias.yaml"
    path.write_text("name: &x [*x]\n")
    assert str(path) in load_error(path)


def test_missing_file() -> None:
    assert "no such file" in load_error(Path("/nonexistent/matrix.yaml"))


# ---------------------------------------------------------------------------------------------
# Cells, ids, selection


@pytest.fixture
def nightly() -> Cell:
    return load_matrix(MATRICES / "nightly.yaml", AVAILABLE).cells[0]


def test_step_id(nightly: Cell) -> None:
    cell = select_cells(load_matrix(MATRICES / "smoke.yaml", AVAILABLE))[0]
    assert step_id(cell, "tenant-rbac", "verify", v("v1.37.2")) == "local:v1.36.3>v1.37.2::tenant-rbac::verify@v1.37.2"
    assert step_id(nightly, "tenant-rbac", "setup") == "local:v1.35.4>v1.36.3>v1.37.2::tenant-rbac::setup"
    with pytest.raises(ValueError):
        step_id(nightly, "a::b", "verify")


def test_cell_id_round_trips(nightly: Cell) -> None:
    key = parse_cell_id(nightly.id)
    assert key == nightly.key
    assert key.provider == "local"
    assert key.versions == (v("v1.35.4"), v("v1.36.3"), v("v1.37.2"))


def test_cell_id_with_platform_and_lag_round_trips() -> None:
    text = "kind:v1.35.4>+platform-crd@v2>v1.36.3+webhook-policy@2026.1>v1.37.2~nodes-lag=1"
    key = parse_cell_id(text)
    assert key.id == text
    assert key.nodes_lag == 1
    assert key.steps == (
        PlatformStep(0, "platform-crd", "v2", False),
        PlatformStep(1, "webhook-policy", "2026.1", True),
    )


def test_cell_id_accepts_versions_without_v() -> None:
    assert parse_cell_id("local:1.35.4>1.36.3").id == "local:v1.35.4>v1.36.3"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("v1.35.4>v1.36.3", "missing 'provider:'"),
        ("docker:v1.35.4>v1.36.3", "unknown provider 'docker'"),
        ("local:v1.35.4", "at least two versions"),
        ("local:v1.35.4>v1.37.2", "skips minor version"),
        ("local:v1.36>v1.37.2", "has no patch number"),
        ("local:v1.35.4+crd@v2>v1.36.3", "first version"),
        ("local:v1.35.4>v1.36.3~nodes-lag=9", "nodes lag"),
        ("local:v1.35.4>+crd>v1.36.3", "+component@version"),
    ],
)
def test_bad_cell_ids(text: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason.replace("+", r"\+")):
        parse_cell_id(text)


def test_select_cells_by_provider_and_id() -> None:
    matrix = load_matrix(MATRICES / "nightly.yaml", AVAILABLE)
    assert [c.id for c in select_cells(matrix, provider="kind")] == ["kind:v1.35.4>v1.36.3>v1.37.2"]
    assert [c.id for c in select_cells(matrix, cell_id="k3d:1.35.4>1.36.3>1.37.2")] == ["k3d:v1.35.4>v1.36.3>v1.37.2"]
    assert len(select_cells(matrix)) == 3


def test_select_cells_errors_list_valid_choices() -> None:
    matrix = load_matrix(MATRICES / "smoke.yaml", AVAILABLE)
    with pytest.raises(InputError, match=r"unknown provider 'kinder'.*known providers: local, kind, k3d"):
        select_cells(matrix, provider="kinder")
    # A known provider the matrix does not name walks the matrix's paths.
    assert [c.id for c in select_cells(matrix, provider="kind")] == ["kind:v1.36.3>v1.37.2"]
    with pytest.raises(InputError, match=r"no cell 'local:v1.35.4>v1.36.3'.*valid cell ids: local:v1.36.3>v1.37.2"):
        select_cells(matrix, cell_id="local:v1.35.4>v1.36.3")


def test_select_scenarios(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: sel
        providers: [local]
        paths:
          - {from: "1.35", to: "1.36"}
        scenarios:
          include:
            - "tenant-*"
            - ingress
          exclude: ["*-slow"]
        """,
    )
    selection = load_matrix(path, AVAILABLE).scenarios
    names = ["tenant-rbac", "tenant-quota-slow", "ingress", "webhooks"]
    assert select_scenarios(selection, names) == ["ingress", "tenant-rbac"]
    with pytest.raises(InputError, match=rf"{path}:8: scenarios.include\[1\]: no scenario directory named 'ingress'"):
        select_scenarios(selection, ["tenant-rbac"])


# ---------------------------------------------------------------------------------------------
# Rendering


def test_show_lists_every_cell_and_hop() -> None:
    text = show(MATRICES / "nightly.yaml", AVAILABLE)
    for provider in ("local", "kind", "k3d"):
        assert f"{provider}:v1.35.4>v1.36.3>v1.37.2" in text
    assert "3 cell(s)" in text
    assert "control plane v1.36.3, nodes v1.36.3" in text


def test_show_describes_lag_and_platform_moves(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: rich
        providers: [local]
        paths:
          - from: "1.34"
            to: "1.36"
            nodes_lag: 1
        platform:
          components:
            platform-crd: {versions: [v1, v2]}
          steps:
            - {at_hop: 1, component: platform-crd, to: v2, with_kubernetes: true}
        """,
    )
    text = show(path, AVAILABLE)
    assert "local:v1.34.6>v1.35.4+platform-crd@v2>v1.36.3~nodes-lag=1" in text
    assert "nodes v1.34.6 (1 behind)" in text
    assert "platform-crd v1 -> v2" in text
