"""The ``Warning`` header parser: the apiserver's own header values, lists, escapes, and junk."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.kube.warning_header import WarningHeader, format_warning, parse_warning_headers

#: Exactly what kube-apiserver v1.35 sends for a pod with the old seccomp annotation.
SECCOMP = (
    '299 - "metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; '
    'use the \\"seccompProfile\\" field instead"'
)


def test_an_apiserver_warning_is_unquoted_and_unescaped() -> None:
    [warning], problems = parse_warning_headers([SECCOMP])
    assert problems == []
    assert warning == WarningHeader(
        299,
        "-",
        "metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; "
        'use the "seccompProfile" field instead',
    )


def test_several_warnings_in_one_value_with_commas_and_dates_inside() -> None:
    value = '299 - "a, b, and c", 199 proxy.example "second \\\\ one" "Wed, 21 Oct 2015 07:28:00 GMT",299 - "third"'
    warnings, problems = parse_warning_headers([value])
    assert problems == []
    assert warnings == [
        WarningHeader(299, "-", "a, b, and c"),
        WarningHeader(199, "proxy.example", "second \\ one", "Wed, 21 Oct 2015 07:28:00 GMT"),
        WarningHeader(299, "-", "third"),
    ]


def test_several_header_lines_are_all_read() -> None:
    warnings, _ = parse_warning_headers(['299 - "one"', '299 - "two"'])
    assert [w.text for w in warnings] == ["one", "two"]


def test_a_malformed_value_is_reported_and_what_came_before_it_kept() -> None:
    warnings, problems = parse_warning_headers(['299 - "kept", 29 - "bad code"', '299 - "next line"'])
    assert [w.text for w in warnings] == ["kept", "next line"]
    [problem] = problems
    assert "warn-code" in str(problem) and problem.remainder.startswith("29 -")


def test_unterminated_text_and_trailing_junk_are_problems() -> None:
    for value in ('299 - "no end', '299 - "text" junk', "299 - text", "299", '299  "no agent"'):
        warnings, problems = parse_warning_headers([value])
        assert warnings == [] and len(problems) == 1, value


def test_rfc2047_encoded_text_from_older_servers_is_decoded() -> None:
    [warning], _ = parse_warning_headers(['299 - "=?utf-8?q?gr=C3=BC=C3=9Fe?="'])
    assert warning.text == "grüße"


_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=60).filter(
    lambda t: "=?" not in t  # RFC 2047 encoded words are decoded, by design
)
_AGENT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters=',"\\'), min_size=1)
_WARNING = st.builds(WarningHeader, st.integers(100, 299), _AGENT, _TEXT)


@given(st.lists(_WARNING, min_size=1, max_size=5), st.sampled_from([", ", ",", " , "]))
def test_formatted_warnings_parse_back_exactly(warnings: list[WarningHeader], separator: str) -> None:
    value = separator.join(format_warning(w.code, w.agent, w.text) for w in warnings)
    parsed, problems = parse_warning_headers([value])
    assert problems == []
    assert parsed == warnings


@given(st.lists(st.text(max_size=80), max_size=4))
def test_any_header_value_parses_or_is_reported_never_raises(values: list[str]) -> None:
    warnings, problems = parse_warning_headers(values)
    assert len(problems) <= len(values)
    for warning in warnings:
        assert 0 <= warning.code <= 999
