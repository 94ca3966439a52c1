"""Country codes and the EU/EEA groupings, kept in one place.

ISO 3166-1 alpha-2 validity comes from ``phonenumbers`` (already a dependency), whose region
list is ISO 3166-1 plus a few telephone-only regions that are removed here; territories with
no telephone numbering plan of their own are added back.
"""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers

#: The 27 member states of the European Union.
# fmt: off
EU: frozenset[str] = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})
# fmt: on
#: The European Economic Area: the EU plus Iceland, Liechtenstein and Norway.
EEA: frozenset[str] = EU | {"IS", "LI", "NO"}

#: Group tokens a policy may name instead of listing countries.  A group token may also be
#: used as a processing location ("somewhere in the EU"), so each group contains its token.
GROUPS: dict[str, frozenset[str]] = {
    "EU": EU | {"EU"},
    "EEA": EEA | {"EU", "EEA"},
}

_NOT_ISO = frozenset({"AC", "TA", "XK"})  # telephone regions that are not ISO 3166-1 codes
_NO_PHONE_PLAN = frozenset({"AQ", "BV", "GS", "HM", "PN", "TF", "UM"})
COUNTRIES: frozenset[str] = (frozenset(phonenumbers.SUPPORTED_REGIONS) - _NOT_ISO) | _NO_PHONE_PLAN


def is_country(code: str) -> bool:
    """True for an upper-case ISO 3166-1 alpha-2 country code."""
    return code in COUNTRIES


def expand(codes: Iterable[str]) -> frozenset[str]:
    """Expand group tokens ('EU', 'EEA') into their countries; other codes are upper-cased."""
    out: set[str] = set()
    for code in codes:
        up = code.strip().upper()
        out |= GROUPS.get(up, {up})
    return frozenset(out)


def describe(codes: Iterable[str]) -> str:
    """A short name for a set of codes, e.g. 'EU/EEA' instead of 30 countries."""
    wanted = frozenset(codes)
    for label, group in (("EU/EEA", GROUPS["EEA"]), ("EU", GROUPS["EU"])):
        if wanted == group:
            return label
    if GROUPS["EEA"] <= wanted:
        rest = sorted(wanted - GROUPS["EEA"])
        return "EU/EEA" + ("+" + ",".join(rest) if rest else "")
    return ",".join(sorted(wanted)) or "none"
