"""The detector interface and the small helpers every detector shares.

A detector turns one string into candidate `Match`es. Each one works in two steps: a compiled
regular expression finds cheap *candidates*, then a well-kept library (python-stdnum,
phonenumbers) validates them. Only validated values become matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from lockgate.pii.config import PiiConfig
from lockgate.pii.findings import Match


class Detector(Protocol):
    """Finds one family of identifiers in a string."""

    def find(self, text: str) -> Iterable[Match]: ...


DetectorFactory = Callable[[PiiConfig], Detector]
Validator = Callable[[str], bool]

_SEPARATOR = re.compile(r"[ \-./]")


def trimmed_candidates(candidate: str) -> Iterator[str]:
    """Yield `candidate`, then each shorter prefix that ends right before a separator.

    Prefilters that allow spaces between groups (`DE89 3704 ...`) may swallow a following
    word or number; validating the shorter prefixes recovers the identifier.
    """
    yield candidate
    cuts = [m.start() for m in _SEPARATOR.finditer(candidate)]
    for cut in reversed(cuts):
        yield candidate[:cut].rstrip(" -./")


def first_valid(
    kind: str, text: str, hit: re.Match[str], validate: Validator, *, min_len: int = 1
) -> Match | None:
    """Validate a prefilter hit (and its shorter prefixes); return the first standalone valid one."""
    start = hit.start()
    for candidate in trimmed_candidates(hit.group()):
        end = start + len(candidate)
        if len(candidate) >= min_len and standalone(text, start, end) and validate(candidate):
            return Match(kind, candidate, start, end)
    return None


@dataclass(frozen=True, slots=True)
class Keywords:
    """Words that must stand near a weakly checksummed number for it to count.

    `anywhere` is a C-speed substring test on the lower-cased text that lets a detector skip
    its pattern entirely when none of the words occur; `near` checks one candidate.
    """

    stems: tuple[str, ...]
    pattern: re.Pattern[str]

    def anywhere(self, lowered: str) -> bool:
        return any(stem in lowered for stem in self.stems)

    def near(self, text: str, match: Match, before: int = 48, after: int = 24) -> bool:
        if self.pattern.search(text, max(0, match.start - before), match.start) is not None:
            return True
        return self.pattern.search(text, match.end, match.end + after) is not None


def keywords(*words: str) -> Keywords:
    """Case-insensitive words matched at a word start; a trailing `*` allows any ending.

    `keywords("telefon*", "bel")` finds "Telefonnummer" and "bel", but not "below".
    """
    stems = tuple(w.rstrip("*").lower() for w in words)
    alternatives = "|".join(re.escape(w.rstrip("*")) + ("" if w.endswith("*") else r"\b") for w in words)
    return Keywords(stems, re.compile(rf"(?<![^\W\d_])(?:{alternatives})", re.IGNORECASE))


def standalone(text: str, start: int, end: int) -> bool:
    """True when `text[start:end]` is not glued to a letter or digit on either side."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or after.isalnum())


def digit_count(value: str) -> int:
    return sum(ch.isdigit() for ch in value)
