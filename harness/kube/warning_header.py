"""The HTTP ``Warning`` response header (RFC 7234 section 5.5), as the apiserver writes it.

Each warning is ``warn-code SP warn-agent SP warn-text [SP warn-date]``: a three-digit code
(the apiserver always sends 299), an agent token (``-`` when none), the text as a quoted
string with backslash escapes, and an optional quoted date. Several warnings may share one
header value, separated by commas, and a response may carry several header lines; commas and
quotes inside the text are escaped or quoted, so splitting on commas is wrong. This parser
follows client-go's ``ParseWarningHeaders``: a malformed value ends that value (what came
before it is kept) and is reported, never silently dropped.
"""

from __future__ import annotations

import email.header
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class WarningHeader:
    code: int
    agent: str
    text: str
    date: str = ""


class MalformedWarning(ValueError):
    """A header value that is not a list of RFC 7234 warnings (``remainder``: what was left)."""

    def __init__(self, problem: str, remainder: str) -> None:
        super().__init__(f"invalid Warning header: {problem}: {remainder[:200]!r}")
        self.problem = problem
        self.remainder = remainder


def parse_warning_headers(values: Iterable[str]) -> tuple[list[WarningHeader], list[MalformedWarning]]:
    """Every warning in ``values`` (one entry per header line), and the problems met.

    A problem ends its header value; the other values are still read.
    """
    warnings: list[WarningHeader] = []
    problems: list[MalformedWarning] = []
    for value in values:
        rest = value.strip()
        while rest:
            try:
                warning, rest = parse_one(rest)
            except MalformedWarning as exc:
                problems.append(exc)
                break
            warnings.append(warning)
    return warnings, problems


def parse_one(header: str) -> tuple[WarningHeader, str]:
    """The first warning of ``header`` and what follows it (after its comma)."""
    header = header.strip()
    code, _, rest = header.partition(" ")
    agent, _, rest = rest.partition(" ")
    if not (len(code) == 3 and code.isascii() and code.isdigit()):
        raise MalformedWarning("the warn-code is not three digits", header)
    if not agent or _has_control(agent):
        raise MalformedWarning("the warn-agent is missing or has control characters", header)
    text, rest = _quoted(rest.lstrip(" "), header)
    text = _decode_rfc2047(text)
    if _has_control(text):
        raise MalformedWarning("the warn-text has control characters", header)
    date = ""
    rest = rest.lstrip(" ")
    if rest.startswith('"'):
        end = rest.find('"', 1)
        if end < 0:
            raise MalformedWarning("the warn-date is not terminated", header)
        date, rest = rest[1:end], rest[end + 1 :].lstrip(" ")
    if rest:
        if not rest.startswith(","):
            raise MalformedWarning("unexpected text after the warning", header)
        rest = rest[1:].strip()
    return WarningHeader(int(code), agent, text, date), rest


def format_warning(code: int, agent: str, text: str) -> str:
    """One header value as the apiserver writes it (``299 - "text"``): the parser's inverse."""
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'{code:03d} {agent or "-"} "{quoted}"'


def _quoted(value: str, header: str) -> tuple[str, str]:
    """A quoted string at the start of ``value`` (unescaped) and what follows its closing quote."""
    if not value.startswith('"'):
        raise MalformedWarning("the warn-text is not a quoted string", header)
    out: list[str] = []
    escaping = False
    for index in range(1, len(value)):
        char = value[index]
        if escaping:
            out.append(char)
            escaping = False
        elif char == "\\":
            escaping = True
        elif char == '"':
            return "".join(out), value[index + 1 :]
        else:
            out.append(char)
    raise MalformedWarning("the warn-text has no closing quote", header)


def _decode_rfc2047(text: str) -> str:
    """RFC 2616 allowed ``=?utf-8?q?...?=`` encoded text; RFC 7234 dropped it. Accept both."""
    if "=?" not in text:
        return text
    try:
        parts = email.header.decode_header(text)
    except (ValueError, LookupError):
        return text
    if all(isinstance(part, str) for part, _ in parts):
        return text  # nothing was encoded after all
    decoded = []
    for part, charset in parts:
        if isinstance(part, bytes):
            try:
                decoded.append(part.decode(charset or "ascii"))
            except (LookupError, UnicodeDecodeError):
                return text
        else:
            decoded.append(part)
    return "".join(decoded)


def _has_control(text: str) -> bool:
    return any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in text)
