"""The detector interface and the small helpers every detector shares.

A detector turns one string into candidate `Match`es. Each one works in two steps: a compiled
regular expression finds cheap *candidates*, then a well-kept library (python-stdnum,
phonenumbers) validates them. Only validated values become matches. The patterns run only over
the spots that `lockgate.pii.candidates.TextScan` found in one pass over the text.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from lockgate.pii.candidates import TextScan
from lockgate.pii.config import PiiConfig
from lockgate.pii.findings import Match


class Detector(Protocol):
    """Finds one family of identifiers in a string.

    `find_in` reads a `TextScan` that the scanner shares between all detectors of one text;
    `find(text)` is the same for a lone string.
    """

    def find(self, text: str) -> Iterable[Match]: ...

    def find_in(self, scan: TextScan) -> Iterable[Match]: ...


class ScanDetector:
    """Base for detectors that work on a `TextScan`: gives them `find(text)`."""

    def find(self, text: str) -> Iterable[Match]:
        return self.find_in(TextScan(text))

    def find_in(self, scan: TextScan) -> Iterable[Match]:
        raise NotImplementedError


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
    `positions` lists where the stems occur (C-speed `str.find`), so `near_in` runs the
    pattern only where a stem stands within reach of the candidate.
    """

    stems: tuple[str, ...]
    pattern: re.Pattern[str]

    def anywhere(self, lowered: str) -> bool:
        return any(stem in lowered for stem in self.stems)

    def positions(self, lowered: str) -> list[int]:
        found: list[int] = []
        for stem in self.stems:
            at = lowered.find(stem)
            while at != -1:
                found.append(at)
                at = lowered.find(stem, at + 1)
        found.sort()
        return found

    def near(self, text: str, match: Match, before: int = 48, after: int = 24) -> bool:
        return self.near_span(text, match.start, match.end, before, after)

    def near_span(self, text: str, start: int, end: int, before: int = 48, after: int = 24) -> bool:
        if self.pattern.search(text, max(0, start - before), start) is not None:
            return True
        return self.pattern.search(text, end, end + after) is not None

    def near_in(self, scan: TextScan, start: int, end: int, before: int = 48, after: int = 24) -> bool:
        """`near`, skipping the pattern when no stem occurs in either window.

        A word the pattern finds holds one of the stems, so that stem occurs in the lower-cased
        text inside the same window, as long as lower-casing keeps every character in place.
        """
        if scan.lower_keeps_places:
            spots = scan.keyword_positions(self)
            i = bisect_left(spots, max(0, start - before))
            j = bisect_left(spots, end, i)
            in_before = i < len(spots) and spots[i] < start
            in_after = j < len(spots) and spots[j] < end + after
            if not (in_before or in_after):
                return False
        return self.near_span(scan.text, start, end, before, after)


def keywords(*words: str) -> Keywords:
    """Case-insensitive words matched at a word start; a trailing `*` allows any ending.

    `keywords("telefon*", "bel")` finds "Telefonnummer" and "bel", but not "below".
    """
    stems = tuple(w.rstrip("*").lower() for w in words)
    stems = tuple(s for s in stems if not any(o != s and o in s for o in stems))  # "tel" covers "telefon"
    alternatives = "|".join(re.escape(w.rstrip("*")) + ("" if w.endswith("*") else r"\b") for w in words)
    return Keywords(stems, re.compile(rf"(?<![^\W\d_])(?:{alternatives})", re.IGNORECASE))


def standalone(text: str, start: int, end: int) -> bool:
    """True when `text[start:end]` is not glued to a letter or digit on either side."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or after.isalnum())
