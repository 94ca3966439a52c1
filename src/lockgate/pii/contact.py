"""Contact details: e-mail addresses and phone numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator

from phonenumbers import Leniency, PhoneNumberMatcher

from lockgate.pii.base import ScanDetector, keywords
from lockgate.pii.candidates import TextScan, search_windows
from lockgate.pii.config import PiiConfig
from lockgate.pii.findings import Match

_LOCAL_MAX, _DOMAIN_MAX = 64, 255
_LOCAL = r"[\w%+-](?:[\w.%+-]{0,62}[\w%+-])?"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_EMAIL = re.compile(rf"(?<![\w.%+-]){_LOCAL}@(?:{_LABEL}\.)+[^\W\d_]{{2,24}}(?![\w-])")

# A run of digits with the punctuation phone numbers are printed with; validation decides.
_PHONE = re.compile(r"[+(\d](?<![\w-][+(\d])[\d \-./()]{5,28}\d(?!\w|-\w)")
# The same, limited to numbers that look like phone numbers on their own (+.., 00.., 0..).
_STANDALONE_PHONE = re.compile(r"[+(0](?<![\w+-][+(0])[\d \-./()]{5,28}\d(?!\w|-\w)")
_PHONE_REACH = 2  # the look-ahead reads two characters past the number
_NOT_DIGITS = str.maketrans("", "", "+() -./")  # what a phone candidate holds besides digits
_MARGIN = 8  # characters of surrounding text handed to the matcher for its date/time checks
_PHONE_WORDS = keywords(
    "tel", "telefon*", "telephon*", "téléphon*", "teléfono", "telefono", "telefoon", "phone*",
    "mobile", "mobil*", "cell", "cellular*", "call", "calling", "fax", "whatsapp", "sms", "handy",
    "rufnummer", "anruf*", "portable", "appel*", "chiam*", "móvil", "llam*", "llám*", "mobiel",
    "bel", "komórk*",
)  # fmt: skip
# Three short groups (01.02.2024, 2024-06-10) are dates, whatever a region's numbering plan allows.
_DATE = re.compile(r"\(?\d{1,4}\)?[./\- ]\d{1,2}[./\- ]\d{1,4}")


class EmailDetector(ScanDetector):
    """Addresses found around each "@" only: the pattern never walks ordinary text."""

    def find_in(self, scan: TextScan) -> Iterator[Match]:
        text = scan.text
        done = 0
        at = text.find("@")
        while at != -1:
            for hit in _EMAIL.finditer(text, max(done, at - _LOCAL_MAX), at + _DOMAIN_MAX):
                if hit.start() < at < hit.end() and ".." not in hit.group():
                    yield Match("email", hit.group(), hit.start(), hit.end())
                    done = hit.end()
                    break
            at = text.find("@", max(at, done) + 1)


class PhoneDetector(ScanDetector):
    """Valid phone numbers of the configured regions, found by `phonenumbers.PhoneNumberMatcher`.

    Numbers in international form (+49 ..., 0049 ...) or national form with a trunk prefix
    (030 ...) stand alone. Numbers without either (Spain and Poland print 612 345 678) look
    like any order or invoice number, so they count only next to a word such as "tel" or "call".
    Candidates come from the number clusters of the scan (a phone number holds seven digits);
    the matcher, the costly part, runs only on those that stand alone or sit next to such a word.
    """

    def __init__(self, regions: list[str]) -> None:
        self.regions = regions

    def find_in(self, scan: TextScan) -> Iterator[Match]:
        if not scan.clusters:
            return
        text = scan.text
        pattern = _PHONE if scan.keyword_positions(_PHONE_WORDS) else _STANDALONE_PHONE
        # Seven digits need seven characters; a cluster that is one date holds no phone number
        # (any shorter part of it has fewer than seven digits).
        windows = [w for w in scan.clusters if w[1] - w[0] >= 7 and _DATE.fullmatch(text, *w) is None]
        for hit in search_windows(pattern, text, windows, _PHONE_REACH):
            raw = hit.group()
            if len(raw.translate(_NOT_DIGITS)) < 7:
                continue
            start, end = hit.span()
            if not (stands_alone(raw) or _PHONE_WORDS.near_in(scan, start, end)):
                continue
            if _DATE.fullmatch(raw) is None:
                yield from self._validate(scan, Match("phone", raw, start, end))

    def _validate(self, scan: TextScan, candidate: Match) -> Iterator[Match]:
        """Run the matcher on the candidate plus a margin; keep valid numbers inside it."""
        text = scan.text
        lo, hi = max(0, candidate.start - _MARGIN), min(len(text), candidate.end + _MARGIN)
        window = text[lo:hi]
        regions = (self.regions[:1] or ["ZZ"]) if is_international(candidate.value) else self.regions
        seen: set[tuple[int, int]] = set()
        for region in regions:
            for pm in PhoneNumberMatcher(window, region, leniency=Leniency.VALID):
                found = Match("phone", pm.raw_string, lo + pm.start, lo + pm.end)
                span = (found.start, found.end)
                if span in seen or found.end <= candidate.start or found.start >= candidate.end:
                    continue
                seen.add(span)
                if _DATE.fullmatch(found.value) is None and self._accept(scan, found):
                    yield found

    @staticmethod
    def _accept(scan: TextScan, found: Match) -> bool:
        return stands_alone(found.value) or _PHONE_WORDS.near_in(scan, found.start, found.end)


def stands_alone(raw: str) -> bool:
    """International form or a national trunk prefix: a phone number by its looks alone."""
    return raw.lstrip("( ").startswith(("+", "0"))


def is_international(raw: str) -> bool:
    return raw.lstrip("( ").startswith(("+", "00"))


def email_detector(config: PiiConfig) -> EmailDetector:
    return EmailDetector()


def phone_detector(config: PiiConfig) -> PhoneDetector:
    return PhoneDetector(list(config.phone_regions))
