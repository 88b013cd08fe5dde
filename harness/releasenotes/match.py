"""Which release-note entries mention what the tenants use, and how strongly.

Every term is matched on word boundaries and, except where noted, case-sensitively: ``CronJob``
but not ``cronjob controller``, ``Pod`` but not ``PodGroup``. A plain-word volume type
(``secret``, ``image``) counts only as `` `secret` `` or "secret volume". A dotted path in a
note (``.spec.externalIPs``, ``spec.jobTemplate``) counts when an object sets that path.

An entry's score is the sum of its distinct terms' weights (``terms.WEIGHTS``), with the
everyday kinds (``terms.GENERIC_KINDS``) adding at most 1 together; an entry needs a score of
``MIN_SCORE`` and one term that is not an everyday kind, so "the Pod" alone never makes a note.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from harness.releasenotes.parse import UPGRADE_SECTIONS, Entry
from harness.releasenotes.terms import (
    ANNOTATION,
    API_GROUP,
    API_VERSION,
    FIELD_PATH,
    GENERIC_KINDS,
    GENERIC_WEIGHT,
    KIND,
    LABEL,
    VOLUME,
    TenantUse,
    Term,
)

MIN_SCORE = 2
#: Objects named per matched term in the report; a big export would otherwise list thousands.
MAX_OBJECTS = 20
#: Path segments every object has; a dotted path made only of these says nothing.
_PLAIN_SEGMENTS = frozenset(
    {"spec", "status", "metadata", "name", "namespace", "template", "containers", "items", "type", "value", "key"}
)
_DOTTED = re.compile(r"(?<![\w/@-])\.?([A-Za-z][A-Za-z0-9]*(?:\[\])?(?:\.[A-Za-z][A-Za-z0-9]*(?:\[\])?)+)(?![\w/-])")
_LEFT = r"(?<![A-Za-z0-9_])"
_RIGHT = r"(?![A-Za-z0-9_])"


@dataclass(frozen=True)
class Match:
    term: Term
    objects: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The term, its type, and the first ``MAX_OBJECTS`` objects using it (of ``objects_total``)."""
        return {
            "term": self.term.text,
            "type": self.term.type,
            "objects": list(self.objects[:MAX_OBJECTS]),
            "objects_total": len(self.objects),
        }


@dataclass(frozen=True)
class Note:
    """An entry that mentions what the tenants use."""

    entry: Entry
    minor: str
    matches: tuple[Match, ...]
    score: int

    def to_json(self) -> dict[str, Any]:
        return {
            "minor": self.minor,
            "release": self.entry.release,
            "section": self.entry.section,
            "text": self.entry.text,
            "pr": self.entry.pr_url,
            "pr_number": self.entry.pr_number,
            "line": self.entry.line,
            "score": self.score,
            "terms": [m.to_json() for m in self.matches],
        }


def _kebab(text: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "-" + m.group(1).lower(), text)


@lru_cache(maxsize=4096)
def term_pattern(text: str, term_type: str) -> re.Pattern[str]:
    """The regular expression that finds ``text`` as a ``term_type`` in prose."""
    escaped = re.escape(text)
    if term_type == KIND:
        return re.compile(f"{_LEFT}{escaped}(?:e?s)?{_RIGHT}")
    if term_type in (API_VERSION, API_GROUP, ANNOTATION, LABEL):
        return re.compile(rf"(?<![\w./-]){escaped}(?![\w-]|\.\w)")
    if term_type == VOLUME and text.islower():
        return re.compile(rf"`{escaped}`|{_LEFT}{escaped}[\s-]+volume", re.I)
    variants = [escaped, re.escape(text[:1].upper() + text[1:])]
    if term_type == VOLUME:
        variants.append(re.escape(_kebab(text)))
    return re.compile(f"{_LEFT}(?:{'|'.join(dict.fromkeys(variants))}){_RIGHT}")


def _segments(token: str, kinds: set[str]) -> tuple[str, ...]:
    """``Service.Spec.ExternalIPs`` -> (spec, externalIPs): the rest as JSON field names once a
    leading kind the tenants use, or a ``...Spec``/``...Status`` type, is dropped. Any other
    leading type (``AllowlistEntry.Command``) is a Go type no tenant object is: no path."""
    parts = [p.removesuffix("[]") for p in token.split(".")]
    if parts[0][:1].isupper():
        if parts[0] not in kinds and not parts[0].endswith(("Spec", "Status")):
            return ()
        parts = parts[1:]
    return tuple(p[:1].lower() + p[1:] for p in parts)


def _contains(path: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    n = len(wanted)
    return any(path[i : i + n] == wanted for i in range(len(path) - n + 1))


def path_matches(text: str, use: TenantUse) -> list[Match]:
    """The dotted paths ``text`` names that the objects set."""
    found: dict[str, set[str]] = {}
    kinds = use.kinds()
    for token in _DOTTED.findall(text):
        wanted = _segments(token, kinds)
        if len(wanted) < 2 or all(s in _PLAIN_SEGMENTS for s in wanted):
            continue
        for path, who in use.paths.items():
            if _contains(path, wanted):
                found.setdefault(".".join(wanted), set()).update(who)
    return [Match(Term(path, FIELD_PATH), tuple(sorted(who))) for path, who in sorted(found.items())]


def score(matches: Iterable[Match]) -> int:
    """Distinct terms' weights, everyday kinds capped at ``GENERIC_WEIGHT`` together."""
    specific = sum(m.term.weight for m in matches if not _generic(m.term))
    generic = any(_generic(m.term) for m in matches)
    return specific + (GENERIC_WEIGHT if generic else 0)


def _generic(term: Term) -> bool:
    return term.type == KIND and term.text in GENERIC_KINDS


def _strongest_per_text(matches: list[Match]) -> list[Match]:
    """One match per text (``emptyDir`` is a field and a volume type): the heaviest, objects merged."""
    best: dict[str, Match] = {}
    for match in matches:
        current = best.get(match.term.text)
        if current is None:
            best[match.term.text] = match
            continue
        objects = tuple(sorted(set(current.objects) | set(match.objects)))
        term = match.term if match.term.weight > current.term.weight else current.term
        best[match.term.text] = Match(term, objects)
    return list(best.values())


def match_entry(entry: Entry, use: TenantUse, minor: str) -> Note | None:
    """The note ``entry`` makes for these tenants, or None when it does not concern them."""
    matches = [
        Match(term, tuple(sorted(who)))
        for term, who in use.terms.items()
        if term_pattern(term.text, term.type).search(entry.text)
    ]
    matches += path_matches(entry.text, use)
    matches = _strongest_per_text(matches)
    if not any(not _generic(m.term) for m in matches):
        return None
    total = score(matches)
    if total < MIN_SCORE:
        return None
    ordered = sorted(matches, key=lambda m: (-m.term.weight, m.term.type, m.term.text))
    return Note(entry, minor, tuple(ordered), total)


def match_entries(entries: Iterable[tuple[str, Entry]], use: TenantUse) -> list[Note]:
    """Notes for ``(minor, entry)`` pairs, urgent first, then the strongest matches."""
    notes = [note for minor, entry in entries if (note := match_entry(entry, use, minor)) is not None]
    order = {section: n for n, section in enumerate(UPGRADE_SECTIONS)}
    return sorted(notes, key=lambda n: (order.get(n.entry.section, len(order)), -n.score, n.entry.release))
