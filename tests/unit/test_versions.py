"""Version parsing and the control-plane skew policy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import VersionError
from harness.versions import KubeVersion, check_supported, upgrade_refusal


@pytest.mark.parametrize("text", ["v1.36.3", "1.36.3", " v1.36.3 "])
def test_parse_full(text: str) -> None:
    assert KubeVersion.parse(text) == KubeVersion(1, 36, 3)
    assert str(KubeVersion.parse(text)) == "v1.36.3"
    assert KubeVersion.parse(text).staging_version == "v0.36.3"


@pytest.mark.parametrize("text", ["1.3x", "v1", "latest", "1.36.3-rc.1", "v1.36.3+k3s1", "", "1..3"])
def test_parse_rejects_malformed(text: str) -> None:
    with pytest.raises(VersionError, match="is not a Kubernetes version"):
        KubeVersion.parse(text, field="paths[0].from")


def test_partial_needs_resolution() -> None:
    partial = KubeVersion.parse_partial("1.36")
    assert partial.is_partial and str(partial) == "v1.36"
    with pytest.raises(VersionError, match="no patch number"):
        KubeVersion.parse("1.36")


def test_major_other_than_one_is_refused() -> None:
    with pytest.raises(VersionError, match="major version 2"):
        KubeVersion.parse("v2.0.0")


def test_supported_range() -> None:
    check_supported(KubeVersion.parse_partial("1.31"))
    check_supported(KubeVersion(1, 31, 0))
    with pytest.raises(VersionError, match=r"older than 1\.31"):
        check_supported(KubeVersion(1, 30, 14))


@pytest.mark.parametrize(
    ("current", "target", "reason"),
    [
        ("v1.36.3", "v1.36.3", "already runs"),
        ("v1.36.3", "v1.35.4", "downgrade"),
        ("v1.36.3", "v1.36.1", "downgrade"),
        ("v1.35.4", "v1.37.2", "skips minor"),
    ],
)
def test_upgrade_refusals(current: str, target: str, reason: str) -> None:
    refusal = upgrade_refusal(KubeVersion.parse(current), KubeVersion.parse(target))
    assert refusal is not None and reason in refusal


@pytest.mark.parametrize(("current", "target"), [("v1.35.4", "v1.36.3"), ("v1.36.1", "v1.36.3")])
def test_allowed_upgrades(current: str, target: str) -> None:
    assert upgrade_refusal(KubeVersion.parse(current), KubeVersion.parse(target)) is None


versions = st.builds(KubeVersion, st.just(1), st.integers(31, 40), st.integers(0, 20))


@given(versions, versions)
def test_policy_allows_exactly_forward_moves_of_at_most_one_minor(a: KubeVersion, b: KubeVersion) -> None:
    allowed = upgrade_refusal(a, b) is None
    assert allowed == (b > a and b.minor - a.minor <= 1)


@given(versions)
def test_text_round_trip(v: KubeVersion) -> None:
    assert KubeVersion.parse(str(v)) == v
