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

from lockgate.pii.base import Validator, first_valid, has_context, keywords
from lockgate.pii.config import PiiConfig
from lockgate.pii.findings import Match


@dataclass(frozen=True, slots=True)
class IdSpec:
    country: str
    pattern: re.Pattern[str]
    validate: Validator
    context: re.Pattern[str] | None = None  # required nearby keywords, None = number stands alone

    @property
    def kind(self) -> str:
        return f"national_id:{self.country}"


_CF_DIGIT = "[0-9LMNPQRSTUV]"  # codice fiscale digits may be replaced by letters (omocodia)

ID_SPECS: tuple[IdSpec, ...] = (
    IdSpec(
        "it",
        re.compile(
            rf"\b[A-Z]{{6}}{_CF_DIGIT}{{2}}[ABCDEHLMPRST]{_CF_DIGIT}{{2}}[A-Z]{_CF_DIGIT}{{3}}[A-Z]\b",
            re.IGNORECASE,
        ),
        codicefiscale.is_valid,
    ),
    IdSpec(
        "fr",
        re.compile(r"\b[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b"),
        nir.is_valid,
    ),
    IdSpec("es", re.compile(r"\b\d{8}[ -]?[A-Z]\b"), dni.is_valid),
    IdSpec("es", re.compile(r"\b[XYZ][ -]?\d{7}[ -]?[A-Z]\b"), nie.is_valid),
    IdSpec(
        "de",
        re.compile(r"\b[1-9]\d(?: ?\d{3}){3}\b"),
        idnr.is_valid,
        keywords("steuer", "idnr", "identifikationsnummer", r"tax[ -]?id", r"tin\b"),
    ),
    IdSpec("pl", re.compile(r"\b\d{11}\b"), pesel.is_valid, keywords("pesel")),
    IdSpec(
        "nl",
        re.compile(r"\b(?:\d{9}|\d{4}\.\d{2}\.\d{3})\b"),
        bsn.is_valid,
        keywords(r"bsn\b", "burgerservicenummer", "sofi"),
    ),
)


class NationalIdDetector:
    def __init__(self, specs: tuple[IdSpec, ...] = ID_SPECS) -> None:
        self.specs = specs

    def find(self, text: str) -> Iterator[Match]:
        for spec in self.specs:
            yield from self._find_one(spec, text)

    @staticmethod
    def _find_one(spec: IdSpec, text: str) -> Iterator[Match]:
        for hit in spec.pattern.finditer(text):
            found = first_valid(spec.kind, hit, spec.validate)
            if found is None:
                continue
            if spec.context is None or has_context(text, found, spec.context):
                yield found


def national_id_detector(config: PiiConfig) -> NationalIdDetector:
    return NationalIdDetector()
