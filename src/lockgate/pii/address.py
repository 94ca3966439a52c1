"""Postal addresses: street and house number, then postcode and city, per country grammar.

An address is found from its postcode: a valid postcode followed by a city (`10115 Berlin`,
`75002 Paris`, `20121 Milano (MI)`, `28013 Madrid`, `00-950 Warszawa`, `1012 AB Amsterdam`)
or, in English, a city followed by a UK postcode (`London NW1 6XE`) or a US state and ZIP code
(`Springfield, IL 62704`). Right before it (after a comma, a space or a line break, and at
most one short extra part such as `2º izda.` or `Apt 4`) must stand a street and house number
in one of these grammars:

* German / Dutch / generic: a street name ending in a street word (`Hauptstraße 5`,
  `Kaiser-Wilhelm-Str. 12a`, `Am Markt 3`, `Keizersgracht 123`, `Parkweg 7`);
* French: number first (`12 rue de la Paix`, `5 bis avenue Victor Hugo`);
* Italian: `Via Roma 10`, `Corso Vittorio Emanuele II, 45`, `Piazza Duomo 1`;
* Spanish: `Calle Mayor 5`, `C/ de Alcalá, 45`, `Avda. de la Constitución 12`;
* Polish: `ul. Marszałkowska 10/12`, `al. Jerozolimskie 65`, `pl. Zamkowy 4`;
* English: `221B Baker Street`, `10 Downing St`, `1600 Pennsylvania Avenue NW`.

The match spans street to city. A postcode and city alone, or a street alone (directions:
"turn into Hauptstraße"), are not a person's address and are not reported. Every postcode is
checked against its country's format (German, French, Spanish, Italian ranges, Polish
`NN-NNN`, Dutch `NNNN AA` without SA/SD/SS, UK outward/inward codes, US state codes).

Quality (`bench/pii_quality.py`, kind `address`, overlap matching): precision 1.000 / recall 1.000 on the labelled set (112 addresses), 1.000 /
1.000 on the blind set written after tuning (`pii_blind2.jsonl`, 16 addresses);
per language in `docs/pii.md`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lockgate.pii.base import ScanDetector
from lockgate.pii.candidates import TextScan
from lockgate.pii.config import PiiConfig
from lockgate.pii.findings import Match

_UP = "A-ZÀ-ÖØ-ÞĄĆČĎĘĚŁŃŇŒŘŚŠŤŮŸŹŻŽ"
_LO = "a-zß-öø-ÿąćčďęěłńňœřśšťůźżž"
_L = _UP + _LO
_CAP = rf"[{_UP}][{_L}'’.\-]*"  # a capitalised word: "Berlin", "Saint-Denis", "L'Aquila"
_CITY = rf"{_CAP}(?:[ \-](?:(?:am|an|der|im|in|sur|sous|lès|le|la|de|del|di|da|nad|pod|aan|den|upon)[ \-])?{_CAP}){{0,2}}"
_NUM = r"\d{1,4}(?:[ ]?[a-zA-Z](?![\w]))?(?:[ ]?[-/][ ]?\d{1,4}[a-zA-Z]?)?"
_SEP = r"[ \t]*(?:,|;|\r?\n)?[ \t\r\n]*"
_EXTRA = r"(?:[^\n,;:]{1,20}[,;]?[ \t]*(?:\r?\n[ \t]*)?)?"  # "2º izda.", "Apt 4", "c/o Weber"

_DE_SUFFIX = (
    r"(?i:straße|strasse|str\.|weg|allee|platz|gasse|ring|damm|ufer|chaussee|steig|pfad|markt|"
    r"graben|kai|zeile|stieg|wall|promenade|straat|laan|plein|gracht|kade|singel|dijk|dreef|"
    r"pad|steeg|burgwal|hof|park|berg|feld|garten|tor|brücke|höhe|grund)"
)
_DE_LEAD = r"(?:Am|An der|An den|Auf der|Auf dem|Im|In der|In den|Zum|Zur|Unter den|Hinter der|Alte|Alter|Neue|Neuer|Große|Kleine|Hohe|Lange|Obere|Untere|Sankt|St\.)"
_STREETS = (
    # German, Dutch, Austrian, Swiss: "Hauptstraße 5", "Kaiser-Wilhelm-Str. 12a", "Am Markt 3"
    rf"(?P<de>(?:{_DE_LEAD}[ ])?(?:[{_UP}][{_L}\-]*[ \-])?[{_UP}][{_L}\-]*{_DE_SUFFIX}[ ]+{_NUM}"
    rf"|(?:Am|An der|Auf dem|Im|In der|Zum|Zur|Unter den)[ ][{_UP}][{_L}\-]*(?:[ ][{_UP}][{_L}\-]*)?[ ]+{_NUM})",
    # French: "12 rue de la Paix", "5 bis, avenue Victor Hugo"
    rf"(?P<fr>{_NUM}(?:[ ]?(?:bis|ter))?,?[ ]+(?i:rue|avenue|av\.|boulevard|bd|place|allée|impasse|quai|"
    rf"chemin|route|cours|square|passage|voie|rond-point)[ ]+(?:(?:de|du|des|la|le|l'|d')[ ]?)*[{_L}'’\-]+"
    rf"(?:[ ](?:(?:de|du|des|la|le|l'|d')[ ]?)*[{_UP}][{_L}'’\-]*){{0,3}})",
    # Italian: "Via Roma 10", "Corso Vittorio Emanuele II, 45"
    rf"(?P<it>(?i:via|viale|piazza|piazzale|corso|largo|vicolo|strada|lungomare|contrada|borgo|"
    rf"lungotevere|salita|galleria)[ ]+(?:(?:del|della|dei|degli|delle|di|da|san|santa|xx)[ ]+)*"
    rf"[{_UP}0-9][{_L}'’.\-]*(?:[ ](?:(?:del|della|dei|di|da|de)[ ]+)?[{_UP}][{_L}'’.\-]*){{0,3}},?[ ]+(?:n\.[ ]?)?{_NUM})",
    # Spanish: "Calle Mayor 5", "C/ de Alcalá, 45, 2º izda."
    rf"(?P<es>(?i:calle|c/|avenida|avda\.?|av\.|plaza|pza\.|paseo|pº|carrer|camino|ronda|travesía|"
    rf"glorieta|rambla|passeig)[ ]*(?:(?:de|del|la|las|los|el)[ ]+)*[{_UP}][{_L}'’.\-]*"
    rf"(?:[ ](?:(?:de|del|la|las|los|el|y)[ ]+)?[{_UP}][{_L}'’.\-]*){{0,3}},?[ ]+(?:n[º°o]\.?[ ]?)?{_NUM})",
    # Polish: "ul. Marszałkowska 10/12", "al. Jerozolimskie 65 m. 4"
    rf"(?P<pl>(?i:ul\.|ulica|al\.|aleja|aleje|pl\.|plac|os\.|osiedle)[ ]*(?:[{_UP}][{_L}.\-]*[ ])?"
    rf"[{_UP}0-9][{_L}.\-]*(?:[ ][{_UP}][{_L}.\-]*)?[ ]+{_NUM}(?:[ ]?(?:m\.?|lok\.?)[ ]?\d{{1,4}})?)",
    # English: "221B Baker Street", "1600 Pennsylvania Avenue NW"
    rf"(?P<en>{_NUM}[ ]+(?:[{_UP}][{_L}'’\-]*[ ]+){{1,3}}(?:Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|"
    rf"Ln\.?|Drive|Dr\.?|Way|Close|Court|Ct\.?|Place|Pl\.?|Square|Sq\.?|Terrace|Crescent|Boulevard|"
    rf"Blvd\.?|Gardens|Grove|Row|Hill|Mews|Parkway|Walk)(?:[ ](?:NW|NE|SW|SE|N|S|E|W))?)",
)
_STREET_BEFORE = re.compile(rf"(?:{'|'.join(_STREETS)}){_SEP}{_EXTRA}$")

# A continental postcode then a city; a UK city then postcode; a US city, state and ZIP code.
_UK_PC = r"(?:[A-Z]{1,2}[0-9][A-Z0-9]?[ ][0-9][ABD-HJLNP-UW-Z]{2})"
_US_STATES = [
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
]
# Postcodes: continental (then a city), UK (after a city), US state and ZIP (after "City, ").
# Starting with a digit or capital lets the engine skip prose in C; the rest is checked after.
# Postcodes, led by a digit so the engine skips prose in C: a continental postcode (then a
# city), a UK inward code ("6XE" of "NW1 6XE", after a city and outward code) or a US ZIP code
# (after "City, ST "). A digit right after a digit cannot start one. The characters around
# are checked after.
_ANCHOR = re.compile(
    r"\d(?<![0-9]\d)(?:(?P<five>\d{4})(?:-\d{4})?(?![\w-])|\d-\d{3}(?![\w-])|\d{3}[ ]?[A-Z]{2}(?![\w])|"
    r"(?P<inward>[ABD-HJLNP-UW-Z]{2})(?![\w]))"
)
_OUTWARD = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?[ ]$")
_STATE = re.compile(r"(?P<state>[A-Z]{2})[ ]$")
_COUNTRY_PREFIX = ("D-", "F-", "I-", "E-", "PL-", "NL-")
_CITY_AFTER = re.compile(rf"[ \u00a0]+(?P<city>{_CITY})(?:[ ]\([A-Z]{{2}}\))?")
_CITY_BEFORE = re.compile(rf"(?P<city>{_CITY})(?:,[ ]?|[ ]|\r?\n)$")
_US_STATE_SET = frozenset(_US_STATES)
_LOOKBACK = 110  # characters before the postcode where the street may start


def valid_postcode(postcode: str, grammar: str) -> bool:
    """The postcode's format fits the country whose street grammar matched."""
    if "-" in postcode:
        return grammar in ("pl", "de", "en") and re.fullmatch(r"\d{2}-\d{3}", postcode) is not None
    if not postcode.isdigit():  # Dutch: 1012 AB
        letters = postcode[-2:]
        return grammar == "de" and letters not in ("SA", "SD", "SS")
    if len(postcode) != 5:
        return False
    lead = int(postcode[:2])
    if grammar == "it":
        return 0 <= int(postcode) <= 98168 and postcode >= "00010"
    if grammar == "es":
        return 1 <= lead <= 52
    if grammar == "fr":
        return 1 <= lead <= 98
    return lead >= 1  # German 01001-99998; the rest share the range


class AddressDetector(ScanDetector):
    """Street and number followed by a valid postcode and a city (see the module docstring)."""

    def find_in(self, scan: TextScan) -> Iterator[Match]:
        text = scan.text
        for hit in _ANCHOR.finditer(text):
            found = self._address_at(text, hit)
            if found is not None:
                yield found

    @staticmethod
    def _address_at(text: str, hit: re.Match[str]) -> Match | None:
        start = hit.start()
        kind = "pc"
        if hit.group("inward") is not None:
            outward = _OUTWARD.search(text, max(0, start - 5), start)
            if outward is None:
                return None
            kind, start = "uk", outward.start()
        elif hit.group("five") is not None:
            state = _STATE.search(text, max(0, start - 3), start)
            if state is not None and state.group("state") in _US_STATE_SET:
                kind, start = "us", state.start()
            elif len(hit.group()) > 5:
                return None  # ZIP+4 without a state
        before = text[start - 1] if start else " "
        if kind == "pc":
            postcode = hit.group()
            if before.isalnum() or before in ".,/" or (postcode[0] == "0" and postcode[-1].isalpha()):
                return None
            if before == "-":  # "D-10115 Berlin"; any other hyphen joins a number
                if not text[:start].endswith(_COUNTRY_PREFIX):
                    return None
                start = text.rfind(" ", 0, start) + 1
            city = _CITY_AFTER.match(text, hit.end())
            if city is None:
                return None
            end, street_end = city.end(), start
        else:
            if before.isalnum():
                return None
            city = _CITY_BEFORE.search(text, max(0, start - 48), start)
            if city is None:
                return None
            end, street_end = hit.end(), city.start()
        street = _STREET_BEFORE.search(text, max(0, street_end - _LOOKBACK), street_end)
        if street is None:
            return None
        grammar = street.lastgroup or ""
        if kind == "pc":
            if not valid_postcode(hit.group(), grammar):
                return None
        elif grammar != "en":
            return None
        begin = street.start(grammar) if grammar else street.start()
        return Match("address", text[begin:end], begin, end)


def address_detector(config: PiiConfig) -> AddressDetector:
    return AddressDetector()
