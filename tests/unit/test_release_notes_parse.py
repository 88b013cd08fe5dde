"""Parsing Kubernetes changelogs: real excerpts, and generated files of the same shape.

``tests/unit/data/changelogs`` holds excerpts of the real ``CHANGELOG-1.N.md`` files of the
``k8s.io/kubernetes`` modules v1.35.4, v1.36.3 and v1.37.2: headings and line layout as
released, download tables and most entries cut to keep them small.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.releasenotes.parse import (
    API_CHANGE,
    DEPRECATION,
    UPGRADE_SECTIONS,
    URGENT,
    ChangelogError,
    Entry,
    parse_changelog,
)

DATA = Path(__file__).parent / "data" / "changelogs"


def changelog(minor: int) -> str:
    return (DATA / f"CHANGELOG-1.{minor}.md").read_text()


def test_releases_in_file_order_the_table_of_contents_ignored() -> None:
    parsed = parse_changelog(changelog(37), "CHANGELOG-1.37.md")
    assert list(parsed.releases) == ["v1.37.1", "v1.37.0", "v1.37.0-rc.0"]
    assert all(not e.text.startswith("[v1.") for entries in parsed.releases.values() for e in entries)


def test_an_api_change_entry_with_its_pr_authors_and_sigs() -> None:
    parsed = parse_changelog(changelog(37))
    entry = next(e for e in parsed.entries("v1.37.0", (API_CHANGE,)) if "emptyDir" in e.text)
    assert entry.text.startswith("Added support for setting Unix permission bits (0000-01777) through the `mode`")
    assert entry.text.endswith("at creation time.")
    assert entry.pr_number == 140244
    assert entry.pr_url == "https://github.com/kubernetes/kubernetes/pull/140244"
    assert entry.authors == ("nispriha",)
    assert entry.sigs == ("API Machinery", "Apps", "Node", "Storage", "Testing")
    assert changelog(37).splitlines()[entry.line - 1].startswith("- Added support for setting Unix permission bits")


def test_urgent_notes_sit_under_the_no_really_heading_and_come_first() -> None:
    parsed = parse_changelog(changelog(37))
    urgent = parsed.entries("v1.37.0", (URGENT,))
    assert urgent and urgent[0].text.startswith("ACTION REQUIRED: Graduated the `SELinuxMount` feature gate to GA")
    ordered = parsed.entries("v1.37.0")
    assert [e.section for e in ordered] == sorted((e.section for e in ordered), key=UPGRADE_SECTIONS.index)
    assert {e.section for e in ordered} == {URGENT, DEPRECATION, API_CHANGE}


def test_multi_paragraph_entries_keep_their_sub_items_and_a_one_space_bullet_starts_an_entry() -> None:
    parsed = parse_changelog(changelog(35))
    urgent = parsed.entries("v1.35.0", (URGENT,))
    assert [e.pr_number for e in urgent] == [133779, 134744]
    second = urgent[1]
    assert second.text.startswith("ACTION REQUIRED:\nvendor: Updated `k8s.io/system-validators`")
    assert "- Edit the `kube-system/kubelet-config` ConfigMap and add the `failCgroupV1: false` field" in second.text
    assert "\n\n" not in second.text and "([#134744]" not in second.text
    assert second.sigs == ("Cluster Lifecycle", "Node")


def test_trailer_variants_found_in_real_files() -> None:
    entries = parse_changelog(changelog(35)).releases["v1.35.0"]
    bare = next(e for e in entries if "Update etcd to" in e.text)
    assert (bare.pr_number, bare.authors) == (135271, ("bzsuni",))
    assert bare.pr_url == "https://github.com/kubernetes/kubernetes/pull/135271"
    none = next(e for e in entries if "malformed Service without name" in e.text)
    assert none.pr_number is None and none.pr_url == ""


def test_dependency_lists_and_download_tables_are_not_entries() -> None:
    entries = [e for es in parse_changelog(changelog(35)).releases.values() for e in es]
    assert not any("go-pathrs" in e.text or "yaml.v2" in e.text for e in entries)
    assert {e.section for e in entries} >= {URGENT, DEPRECATION, API_CHANGE, "Feature", "Bug or Regression"}


def test_a_file_without_release_headings_is_an_error_naming_it() -> None:
    with pytest.raises(ChangelogError, match=r"notes\.md: no release heading"):
        parse_changelog("# Release notes\n\n- something\n", "notes.md")


# -- generated changelogs ------------------------------------------------------------------

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789`.,:'", min_size=1, max_size=12)
_LINE = st.lists(_WORD, min_size=1, max_size=8).map(" ".join)
_SIG = st.sampled_from(["API Machinery", "Apps", "Node", "Storage", "Auth", "CLI"])


@st.composite
def _entry(draw: st.DrawFn) -> dict[str, object]:
    return {
        "lines": draw(st.lists(_LINE, min_size=1, max_size=4)),
        "blank_inside": draw(st.booleans()),
        "one_space": draw(st.booleans()),
        "pr": draw(st.one_of(st.none(), st.integers(1, 999999))),
        "authors": draw(st.lists(st.sampled_from(["liggitt", "pohly", "a-b", "x9"]), min_size=1, max_size=2)),
        "sigs": draw(st.lists(_SIG, max_size=3, unique=True)),
    }


_SECTIONS = st.lists(
    st.tuples(st.sampled_from([URGENT, DEPRECATION, API_CHANGE, "Feature", "Bug or Regression"]), st.lists(_entry())),
    max_size=4,
    unique_by=lambda s: s[0],
)
_RELEASES = st.lists(
    st.tuples(
        st.builds("v1.{}.{}{}".format, st.integers(10, 40), st.integers(0, 9), st.sampled_from(["", "-rc.1"])),
        _SECTIONS,
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda r: r[0],
)


def _sig_text(sigs: list[str]) -> str:
    if len(sigs) < 2:
        return "".join(sigs)
    return ", ".join(sigs[:-1]) + " and " + sigs[-1]


def _render(releases: list[tuple[str, list[tuple[str, list[dict[str, object]]]]]]) -> str:
    """A changelog in the release tooling's layout."""
    out = ["<!-- BEGIN MUNGE: GENERATED_TOC -->", "", *(f"- [{r}](#x)" for r, _ in releases), ""]
    for release, sections in releases:
        out += [f"# {release}", "", "", f"## Downloads for {release}", "", "### Source Code", "", "filename | sha"]
        out += ["", "## Changelog since v1.0.0", ""]
        urgent = [s for s in sections if s[0] == URGENT]
        if urgent:
            out += ["## Urgent Upgrade Notes ", "", "### (No, really, you MUST read this before you upgrade)", ""]
            out += [*_render_entries(urgent[0][1]), " "]
        out += ["## Changes by Kind", ""]
        for name, entries in sections:
            if name != URGENT:
                out += [f"### {name}", "", *_render_entries(entries), ""]
        out += [
            "## Dependencies",
            "",
            "### Added",
            "- github.com/x/y: v1.2.3",
            "",
            "### Changed",
            "_Nothing has changed._",
        ]
        out += ["", ""]
    return "\n".join(out) + "\n"


def _render_entries(entries: list[dict[str, object]]) -> list[str]:
    lines: list[str] = []
    for entry in entries:
        text = list(entry["lines"])  # type: ignore[call-overload]
        if entry["pr"] is not None:
            authors = ", ".join(f"[@{a}](https://github.com/{a})" for a in entry["authors"])  # type: ignore[attr-defined]
            sigs = _sig_text(entry["sigs"])  # type: ignore[arg-type]
            text[-1] += f" ([#{entry['pr']}](https://github.com/kubernetes/kubernetes/pull/{entry['pr']}), {authors})"
            text[-1] += f" [SIG {sigs}]" if sigs else ""
        first = (" - " if entry["one_space"] else "- ") + text[0]
        rest = [f"  {line}" for line in text[1:]]
        if entry["blank_inside"] and rest:
            rest.insert(0, "  ")
        lines += [first, *rest]
    return lines


@settings(max_examples=60, deadline=None)
@given(_RELEASES)
def test_generated_changelogs_parse_back_to_what_was_written(
    releases: list[tuple[str, list[tuple[str, list[dict[str, object]]]]]],
) -> None:
    parsed = parse_changelog(_render(releases), "generated.md")
    assert list(parsed.releases) == [r for r, _ in releases]
    for release, sections in releases:
        got = parsed.releases[release]
        in_file_order = sorted(sections, key=lambda s: s[0] != URGENT)  # urgent notes come first
        want = [(name, entry) for name, entries in in_file_order for entry in entries]
        assert [e.section for e in got] == [name for name, _ in want]
        for entry, (_, written) in zip(got, want, strict=True):
            assert isinstance(entry, Entry)
            assert entry.text == "\n".join(s.strip() for s in written["lines"])  # type: ignore[attr-defined]
            assert entry.pr_number == written["pr"]
            if written["pr"] is not None:
                assert entry.authors == tuple(written["authors"])  # type: ignore[arg-type]
                assert entry.sigs == tuple(written["sigs"])  # type: ignore[arg-type]


_PREFIX = st.sampled_from(["- ", " - ", "  ", "## ", "### ", "# v1.37.0", "## Urgent Upgrade Notes", "x", ""])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_PREFIX, st.text(max_size=20)), max_size=30))
def test_any_text_under_a_release_heading_parses_without_error(parts: list[tuple[str, str]]) -> None:
    lines = ["# v1.37.0"] + [prefix + " ".join(text.splitlines()) for prefix, text in parts]
    parsed = parse_changelog("\n".join(lines))
    for entries in parsed.releases.values():
        assert all(e.text and e.line >= 1 for e in entries)
