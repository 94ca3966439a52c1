"""A slow, obvious reference scanner: every detector's pattern over the whole text.

It applies the same patterns, validators and rules as `lockgate.pii` but without the shared
candidate pass (`TextScan`): each pattern runs `finditer` over the whole string and keywords are
searched with their patterns. The fast scanner must report exactly what this one reports.

The lexicon detectors (address, name, health) use no candidate pass: they already read the
whole text, so the reference runs them as they are, on every text, digits or not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from phonenumbers import Leniency, PhoneNumberMatcher
from stdnum import iban
from stdnum.eu import vat

from lockgate.pii import contact, financial, identity
from lockgate.pii.address import AddressDetector
from lockgate.pii.base import first_valid
from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import resolve_overlaps
from lockgate.pii.findings import Match
from lockgate.pii.health import HealthDetector
from lockgate.pii.names import NameDetector

Finder = Callable[[str, PiiConfig], Iterator[Match]]


def _iban(text: str, config: PiiConfig) -> Iterator[Match]:
    for hit in financial._IBAN.finditer(text):
        found = first_valid("iban", text, hit, iban.is_valid, min_len=15)
        if found is not None:
            yield found


def _vat(text: str, config: PiiConfig) -> Iterator[Match]:
    for hit in financial._VAT.finditer(text):
        found = first_valid("vat", text, hit, vat.is_valid, min_len=4)
        if found is not None:
            yield found


def _card(text: str, config: PiiConfig) -> Iterator[Match]:
    for hit in financial._CARD.finditer(text):
        if financial.is_card_number(hit.group()):
            yield Match("card", hit.group(), hit.start(), hit.end())


def _national_id(text: str, config: PiiConfig) -> Iterator[Match]:
    lowered = text.lower()
    for spec in identity.ID_SPECS:
        if spec.context is not None and not spec.context.anywhere(lowered):
            continue
        for hit in spec.pattern.finditer(text):
            found = first_valid(spec.kind, text, hit, spec.validate)
            if found is not None and (spec.context is None or spec.context.near(text, found)):
                yield found


def _email(text: str, config: PiiConfig) -> Iterator[Match]:
    return iter(contact.EmailDetector().find(text))


def _phone_ok(text: str, found: Match) -> bool:
    return contact.stands_alone(found.value) or contact._PHONE_WORDS.near(text, found)


def _phone_validate(text: str, candidate: Match, regions: list[str]) -> Iterator[Match]:
    lo, hi = max(0, candidate.start - 8), min(len(text), candidate.end + 8)
    wanted = (regions[:1] or ["ZZ"]) if contact.is_international(candidate.value) else regions
    seen: set[tuple[int, int]] = set()
    for region in wanted:
        for pm in PhoneNumberMatcher(text[lo:hi], region, leniency=Leniency.VALID):
            found = Match("phone", pm.raw_string, lo + pm.start, lo + pm.end)
            if (
                (found.start, found.end) in seen
                or found.end <= candidate.start
                or found.start >= candidate.end
            ):
                continue
            seen.add((found.start, found.end))
            if contact._DATE.fullmatch(found.value) is None and _phone_ok(text, found):
                yield found


def _phone(text: str, config: PiiConfig) -> Iterator[Match]:
    words = contact._PHONE_WORDS.anywhere(text.lower())
    for hit in (contact._PHONE if words else contact._STANDALONE_PHONE).finditer(text):
        raw = hit.group()
        if sum(ch.isdigit() for ch in raw) < 7 or contact._DATE.fullmatch(raw) is not None:
            continue
        candidate = Match("phone", raw, hit.start(), hit.end())
        if _phone_ok(text, candidate):
            yield from _phone_validate(text, candidate, list(config.phone_regions))


REFERENCE: dict[str, Finder] = {
    "iban": _iban,
    "card": _card,
    "national_id": _national_id,
    "vat": _vat,
    "email": _email,
    "phone": _phone,
    "address": lambda text, config: iter(AddressDetector().find(text)),
    "name": lambda text, config: iter(NameDetector().find(text)),
    "health": lambda text, config: iter(HealthDetector().find(text)),
}


def reference_scan(text: str, config: PiiConfig | None = None) -> list[Match]:
    """What `PiiScanner(config).scan_text(text).matches` must be (no truncation)."""
    config = config or PiiConfig()
    candidates = [(rank, m) for rank, find in enumerate(REFERENCE.values()) for m in find(text, config)]
    return resolve_overlaps(candidates)
