"""National identification numbers of the largest EU member states.

Each country is one `IdSpec`: a prefilter pattern, where in a `TextScan` it can start (a
`Locator`), a python-stdnum validator, and, for numbers that are only digits with a weak check
digit (a random number of the right length passes the check 1 time in 10 or 11), keywords that
must appear next to the number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel

from lockgate.pii.base import Keywords, ScanDetector, Validator, first_valid, keywords
from lockgate.pii.candidates import TextScan, Window, match_starts, search_windows
from lockgate.pii.config import PiiConfig
from lockgate.pii.findings import Match

# Where a pattern's matches can start in a scanned text; yields them as `finditer` would.
Locator = Callable[[re.Pattern[str], TextScan], Iterator[re.Match[str]]]
_REACH = 16  # past a cluster: a check letter, or "A 123 456 78" after a Corsican "2"


def _letter_follows(text: str, end: int) -> bool:
    """An upper-case check letter right after `end`, or after one space or hyphen."""
    char = text[end : end + 1]
    if char in (" ", "-"):
        char = text[end + 1 : end + 2]
    return "A" <= char <= "Z" and char != ""


def in_clusters(min_len: int, tails: tuple[str, ...] = ()) -> Locator:
    """Numbers inside clusters of at least `min_len` characters, or whose last digit and the
    character after it are one of `tails` (a Corsican NIR breaks its cluster at "2A")."""

    def locate(pattern: re.Pattern[str], scan: TextScan) -> Iterator[re.Match[str]]:
        text = scan.text
        if tails:
            windows = [
                w for w in scan.clusters if w[1] - w[0] >= min_len or text[w[1] - 1 : w[1] + 1] in tails
            ]
        else:
            windows = [w for w in scan.clusters if w[1] - w[0] >= min_len]
        return search_windows(pattern, text, windows, _REACH)

    return locate


def ending_in_letter(digits: int) -> Locator:
    """Numbers whose last `digits` digits end a cluster and are followed by a check letter."""

    def locate(pattern: re.Pattern[str], scan: TextScan) -> Iterator[re.Match[str]]:
        text = scan.text
        windows = (w for w in scan.clusters if w[1] - w[0] >= digits and _letter_follows(text, w[1]))
        return search_windows(pattern, text, windows, _REACH)

    return locate


def lettered(prefixes: str, digits: int) -> Locator:
    """A letter of `prefixes` (then maybe a space or hyphen), a cluster of exactly `digits`
    characters, then a check letter: the Spanish NIE (X1234567L)."""

    def windows(text: str, clusters: list[Window]) -> Iterator[Window]:
        for start, end in clusters:
            if end - start == digits and _letter_follows(text, end):
                lead = text[max(0, start - 2) : start]
                if lead[-1:] in prefixes or (lead[-1:] in (" ", "-") and lead[:1] in prefixes):
                    yield max(0, start - 2), start

    def locate(pattern: re.Pattern[str], scan: TextScan) -> Iterator[re.Match[str]]:
        return search_windows(pattern, scan.text, windows(scan.text, scan.clusters), _REACH)

    return locate


def at_anchors(pattern: re.Pattern[str], scan: TextScan) -> Iterator[re.Match[str]]:
    """Upper-case codes that start at the capital anchors of the scan."""
    return match_starts(pattern, scan.text, scan.anchors)


@dataclass(frozen=True, slots=True)
class IdSpec:
    country: str
    pattern: re.Pattern[str]
    validate: Validator
    locate: Locator
    context: Keywords | None = None  # required nearby words; None: the number stands alone

    @property
    def kind(self) -> str:
        return f"national_id:{self.country}"


_CF_DIGIT = "[0-9LMNPQRSTUV]"  # codice fiscale digits may be replaced by letters (omocodia)

ID_SPECS: tuple[IdSpec, ...] = (
    IdSpec(
        "it",
        re.compile(rf"[A-Z]{{6}}{_CF_DIGIT}{{2}}[ABCDEHLMPRST]{_CF_DIGIT}{{2}}[A-Z]{_CF_DIGIT}{{3}}[A-Z]"),
        codicefiscale.is_valid,
        at_anchors,
    ),
    IdSpec(
        "fr",
        re.compile(r"[12](?<![\w.,][12]) ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}"),
        nir.is_valid,
        in_clusters(13, tails=("2A", "2B")),
    ),
    IdSpec("es", re.compile(r"\d(?<![\w.,]\d)\d{7}[ -]?[A-Z]"), dni.is_valid, ending_in_letter(8)),
    IdSpec("es", re.compile(r"[XYZ][ -]?\d{7}[ -]?[A-Z]"), nie.is_valid, lettered("XYZ", 7)),
    IdSpec(
        "de",
        re.compile(r"[1-9](?<![\w.,]\d)\d(?: ?\d{3}){3}"),
        idnr.is_valid,
        in_clusters(11),
        keywords("steuer*", "idnr", "identifikationsnummer", "tax id", "tax-id", "taxid", "tin"),
    ),
    IdSpec("pl", re.compile(r"\d(?<![\w.,]\d)\d{10}"), pesel.is_valid, in_clusters(11), keywords("pesel")),
    IdSpec(
        "nl",
        re.compile(r"\d(?<![\w.,]\d)(?:\d{8}|\d{3}\.\d{2}\.\d{3})"),
        bsn.is_valid,
        in_clusters(8),
        keywords("bsn", "burgerservicenummer", "sofi*"),
    ),
)


class NationalIdDetector(ScanDetector):
    def __init__(self, specs: tuple[IdSpec, ...] = ID_SPECS) -> None:
        self.specs = specs

    def find_in(self, scan: TextScan) -> Iterator[Match]:
        for spec in self.specs:
            yield from self._find_one(spec, scan)

    @staticmethod
    def _find_one(spec: IdSpec, scan: TextScan) -> Iterator[Match]:
        text = scan.text
        if spec.context is not None and not (scan.clusters and scan.keyword_positions(spec.context)):
            return  # none of the words anywhere (or no number): nothing can count
        for hit in spec.locate(spec.pattern, scan):
            found = first_valid(spec.kind, text, hit, spec.validate)
            if found is not None and (
                spec.context is None or spec.context.near_in(scan, found.start, found.end)
            ):
                yield found


def national_id_detector(config: PiiConfig) -> NationalIdDetector:
    return NationalIdDetector()
