"""Words that must stand near a candidate for it to count (phone words, ID keywords).

It reads a `TextScan` (`lockgate.pii.candidates`), which in turn only needs the `Stems`
protocol of its own module: the import goes one way.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from lockgate.pii.candidates import TextScan
from lockgate.pii.findings import Match


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
