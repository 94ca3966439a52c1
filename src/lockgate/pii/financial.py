"""Financial identifiers: IBANs, EU VAT numbers and payment card numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from stdnum import iban, luhn
from stdnum.eu import vat

from lockgate.pii.base import ScanDetector, first_valid
from lockgate.pii.candidates import TextScan, match_starts, search_windows
from lockgate.pii.config import PiiConfig
from lockgate.pii.findings import Match

# Compact (DE89370400440532013000) or printed in groups of four (DE89 3704 0044 0532 0130 00).
# Word boundaries are checked on the few hits (`first_valid`), not by the pattern.
_IBAN = re.compile(r"[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: ?[A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)")

_VAT_PREFIXES = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI",
]  # fmt: skip
_VAT_PREFIX_SET = frozenset(_VAT_PREFIXES)
_VAT = re.compile(rf"(?:{'|'.join(_VAT_PREFIXES)}) ?[0-9A-Z][0-9A-Z .\-]{{1,14}}[0-9A-Z]")

# 13-19 digits, either contiguous or in the groupings printed on cards (4-4-4-4[-3], 4-6-5, 4-6-4).
# Starting with a digit lets the engine skip to digits in C; the look-behind then rejects
# positions inside a number or word before any repetition runs.
_CARD = re.compile(
    r"\d(?<![\w.,]\d)"
    r"(?:\d{12,18}|\d{3}([ -])\d{4}(?:\1\d{4}){1,2}(?:\1\d{1,3})?|\d{3}([ -])\d{6}\2\d{4,5})"
    r"(?![\w]|[.,]\d)"
)
_CARD_MIN = 13  # characters: the shortest card number, 13 digits in one piece
_CARD_REACH = 2  # the look-ahead reads two characters past the number


@dataclass(frozen=True, slots=True)
class IinRange:
    """Issuer identification number range of one card scheme, with the lengths it issues."""

    low: int
    high: int
    lengths: range

    def covers(self, digits: str) -> bool:
        prefix = digits[: len(str(self.low))]
        return self.low <= int(prefix) <= self.high and len(digits) in self.lengths


IIN_RANGES: tuple[IinRange, ...] = (
    IinRange(4, 4, range(13, 20)),  # Visa
    IinRange(51, 55, range(16, 17)),  # Mastercard
    IinRange(2221, 2720, range(16, 17)),  # Mastercard 2-series
    IinRange(34, 34, range(15, 16)),  # American Express
    IinRange(37, 37, range(15, 16)),  # American Express
    IinRange(300, 305, range(14, 20)),  # Diners Club
    IinRange(36, 36, range(14, 20)),  # Diners Club
    IinRange(38, 39, range(14, 20)),  # Diners Club
    IinRange(3528, 3589, range(16, 20)),  # JCB
    IinRange(6011, 6011, range(16, 20)),  # Discover
    IinRange(644, 649, range(16, 20)),  # Discover
    IinRange(65, 65, range(16, 20)),  # Discover
    IinRange(62, 62, range(16, 20)),  # UnionPay
    IinRange(2200, 2204, range(16, 20)),  # Mir
    IinRange(50, 50, range(12, 20)),  # Maestro
    IinRange(56, 58, range(12, 20)),  # Maestro
    IinRange(63, 63, range(12, 20)),  # Maestro
    IinRange(67, 67, range(12, 20)),  # Maestro
)


def is_card_number(value: str) -> bool:
    digits = re.sub(r"[ -]", "", value)
    known_issuer = any(r.covers(digits) for r in IIN_RANGES)
    return known_issuer and bool(luhn.is_valid(digits))


class IbanDetector(ScanDetector):
    """Starts only at the capital anchors of the scan (two letters, then digits)."""

    def find_in(self, scan: TextScan) -> Iterator[Match]:
        text = scan.text
        for hit in match_starts(_IBAN, text, scan.anchors):
            found = first_valid("iban", text, hit, iban.is_valid, min_len=15)
            if found is not None:
                yield found


class VatDetector(ScanDetector):
    """EU VAT numbers written with their country prefix (DE136695976, FR 40 303 265 045)."""

    def find_in(self, scan: TextScan) -> Iterator[Match]:
        text = scan.text
        starts = (at for at in scan.anchors if text[at : at + 2] in _VAT_PREFIX_SET)
        for hit in match_starts(_VAT, text, starts):
            found = first_valid("vat", text, hit, vat.is_valid, min_len=4)
            if found is not None:
                yield found


class CardDetector(ScanDetector):
    """Runs its pattern only over number clusters long enough to hold a card number."""

    def find_in(self, scan: TextScan) -> Iterator[Match]:
        windows = (w for w in scan.clusters if w[1] - w[0] >= _CARD_MIN)
        for hit in search_windows(_CARD, scan.text, windows, _CARD_REACH):
            if is_card_number(hit.group()):
                yield Match("card", hit.group(), hit.start(), hit.end())


def iban_detector(config: PiiConfig) -> IbanDetector:
    return IbanDetector()


def vat_detector(config: PiiConfig) -> VatDetector:
    return VatDetector()


def card_detector(config: PiiConfig) -> CardDetector:
    return CardDetector()
