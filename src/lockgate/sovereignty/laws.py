"""Foreign-access laws a provider can be exposed to, with case-insensitive aliases.

A hosted provider whose operator or parent sits in a country is exposed to that country's
access laws even when its config forgets to say so (``implied_laws``); that keeps policies
such as ``no-us-cloud-act`` closed on incomplete facts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Law:
    id: str
    country: str
    title: str
    source: str
    aliases: tuple[str, ...] = ()


LAWS: dict[str, Law] = {
    law.id: law
    for law in (
        Law(
            "US-CLOUD-Act",
            "US",
            "Clarifying Lawful Overseas Use of Data Act (18 U.S.C. § 2713)",
            "https://www.law.cornell.edu/uscode/text/18/2713",
            ("CLOUD-Act", "CLOUD Act", "CloudAct", "US-CLOUD"),
        ),
        Law(
            "US-FISA-702",
            "US",
            "Foreign Intelligence Surveillance Act, section 702 (50 U.S.C. § 1881a)",
            "https://www.law.cornell.edu/uscode/text/50/1881a",
            ("FISA-702", "FISA", "FISA 702"),
        ),
        Law(
            "US-EO-12333",
            "US",
            "Executive Order 12333 on US intelligence activities",
            "https://www.archives.gov/federal-register/codification/executive-order/12333.html",
            ("EO-12333", "EO 12333"),
        ),
        Law(
            "PRC-NIL",
            "CN",
            "PRC National Intelligence Law (2017, amended 2018), Art. 7 and 14",
            "https://www.chinalawtranslate.com/en/national-intelligence-law-of-the-p-r-c-2017/",
            ("NIL", "CN-NIL", "National-Intelligence-Law", "PRC-National-Intelligence-Law"),
        ),
    )
}

_BY_ALIAS: dict[str, str] = {
    alias.casefold(): law.id for law in LAWS.values() for alias in (law.id, *law.aliases)
}

#: Laws implied by the country of a hosted provider's operator or parent.
_IMPLIED: dict[str, tuple[str, ...]] = {}
for _law in LAWS.values():
    _IMPLIED.setdefault(_law.country, ())
    _IMPLIED[_law.country] += (_law.id,)


def canonical_law(name: str) -> str | None:
    """The law id for a name or alias (case-insensitive), or None when unknown."""
    return _BY_ALIAS.get(name.strip().casefold())


def canonical_laws(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Canonical ids where known; unknown names are kept as written (they still count)."""
    return tuple(canonical_law(n) or n for n in names)


def law_country(law_id: str) -> str | None:
    law = LAWS.get(law_id)
    return law.country if law else None


def implied_laws(*countries: str | None) -> tuple[str, ...]:
    out: list[str] = []
    for country in countries:
        for law in _IMPLIED.get(country or "", ()):
            if law not in out:
                out.append(law)
    return tuple(out)
