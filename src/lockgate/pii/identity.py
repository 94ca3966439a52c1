"""National identification numbers of the largest EU member states.

Each country is one `IdSpec`: a prefilter pattern, a python-stdnum validator, and, for numbers
that are only digits with a weak check digit (a random number of the right length passes the
check 1 time in 10 or 11), keywords that must appear next to the number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel

from lockgate.pii.base import Keywords, Validator, first_valid, keywords
from lockgate.pii.config import PiiConfig
from lockgate.pii.findings import Match


@dataclass(frozen=True, slots=True)
class IdSpec:
    country: str
    pattern: re.Pattern[str]
    validate: Validator
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
    ),
    IdSpec(
        "fr",
        re.compile(r"[12](?<![\w.,][12]) ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}"),
        nir.is_valid,
    ),
    IdSpec("es", re.compile(r"\d(?<![\w.,]\d)\d{7}[ -]?[A-Z]"), dni.is_valid),
    IdSpec("es", re.compile(r"[XYZ][ -]?\d{7}[ -]?[A-Z]"), nie.is_valid),
    IdSpec(
        "de",
        re.compile(r"[1-9](?<![\w.,]\d)\d(?: ?\d{3}){3}"),
        idnr.is_valid,
        keywords("steuer*", "idnr", "identifikationsnummer", "tax id", "tax-id", "taxid", "tin"),
    ),
    IdSpec("pl", re.compile(r"\d(?<![\w.,]\d)\d{10}"), pesel.is_valid, keywords("pesel")),
    IdSpec(
        "nl",
        re.compile(r"\d(?<![\w.,]\d)(?:\d{8}|\d{3}\.\d{2}\.\d{3})"),
        bsn.is_valid,
        keywords("bsn", "burgerservicenummer", "sofi*"),
    ),
)


class NationalIdDetector:
    def __init__(self, specs: tuple[IdSpec, ...] = ID_SPECS) -> None:
        self.specs = specs

    def find(self, text: str) -> Iterator[Match]:
        lowered = text.lower()
        for spec in self.specs:
            if spec.context is None or spec.context.anywhere(lowered):
                yield from self._find_one(spec, text)

    @staticmethod
    def _find_one(spec: IdSpec, text: str) -> Iterator[Match]:
        for hit in spec.pattern.finditer(text):
            found = first_valid(spec.kind, text, hit, spec.validate)
            if found is not None and (spec.context is None or spec.context.near(text, found)):
                yield found


def national_id_detector(config: PiiConfig) -> NationalIdDetector:
    return NationalIdDetector()
