"""The shared candidate pass: the fast scanner reports exactly what full-text patterns report."""

from __future__ import annotations

import random
import re

import pytest
from pii_corpus import identifier_prompt, ordinary_corpus
from pii_reference import REFERENCE, reference_scan
from pii_samples import CONTEXT, SAMPLES, corrupt, phone

from lockgate.pii.base import keywords
from lockgate.pii.candidates import TextScan, match_starts, search_windows
from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import PiiScanner
from lockgate.pii.registry import DETECTORS

SCANNER = PiiScanner(PiiConfig())
REGIONS = ["DE", "FR", "IT", "ES", "NL", "PL", "GB"]
LEADS = [
    "",
    "tel ",
    "Telefon: ",
    "call me on ",
    "PESEL ",
    "BSN ",
    "Steuer-ID ",
    "IBAN ",
    "X",
    "ES",
    "(",
    "+",
    "#",
]
TAILS = ["", " ", ".", ",", "x", "-1", " 12", "A", ")"]


def _found(text: str) -> list[tuple[str, str, int, int]]:
    return [(m.kind, m.value, m.start, m.end) for m in SCANNER.scan_text(text).matches]


def _expected(text: str) -> list[tuple[str, str, int, int]]:
    return [(m.kind, m.value, m.start, m.end) for m in reference_scan(text)]


def _mangled(rng: random.Random) -> str:
    kind = rng.choice(sorted(SAMPLES))
    value = rng.choice(SAMPLES[kind])(rng)
    if kind == "phone" and rng.random() < 0.5:
        value = phone(rng, rng.choice(REGIONS), international=False)
    if rng.random() < 0.25:
        value = corrupt(value)
    if rng.random() < 0.2:
        value = value.replace(" ", rng.choice(["", "-", ".", "  ", "/"]))
    return (
        f"{rng.choice(LEADS)}{CONTEXT.get(kind, '') if rng.random() < 0.3 else ''} {value}{rng.choice(TAILS)}"
    )


def test_reference_covers_the_registry_in_order() -> None:
    # every detector on by default (the optional NER backend is off and uses no candidate pass)
    assert list(REFERENCE) == [n for n in DETECTORS if n in PiiConfig().active_detectors()]


def test_same_as_reference_on_ordinary_corpus() -> None:
    for doc in ordinary_corpus(seed=21, count=40):
        assert _found(doc) == _expected(doc) == []


def test_same_as_reference_with_identifiers_in_context() -> None:
    rng = random.Random(99)
    found_any = 0
    for _ in range(120):
        values = [_mangled(rng) for _ in range(rng.randint(1, 6))]
        text = identifier_prompt(rng, values, size=rng.randint(60, 900))
        expected = _expected(text)
        assert _found(text) == expected, text
        found_any += bool(expected)
    assert found_any > 80


def test_same_as_reference_on_character_soup() -> None:
    rng = random.Random(5)
    alphabet = "0123456789 -./()+ABXYZDEFRITLabct@\n,:"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(5, 160)))
        assert _found(text) == _expected(text), text


@pytest.mark.parametrize(
    "text",
    [
        "NIR corse 1 85 05 2A 123 456 78 et 2 85 05 2B 123 456 78",
        "NIE X-1234567-L, Y 1234567 X, Z1234567R and DNI 12345678Z / 12345678-Z",
        "ref XDE89370400440532013000 and SKU-12345-B and ATU12345678",
        "IBAN GB82 WEST 1234 5698 7654 32 FROM now, card 4111 1111 1111 1111.",
        "Tel +４９ ３０ ９０１８２０ (full-width digits), ref 12",
        "Handy ٠١٥١ ٢٣٤٥٦٧٨٩ and 030 901820",
        "İstanbul tel 0212 555 12 34, ſms 612 345 678 ı",
        "call 🙂 612 345 678 or +33 6 12 34 56 78 😀",
        "(0)30 901820, (+49) 30 901820, ((((((( 1234567",
    ],
)
def test_same_as_reference_on_edge_shapes(text: str) -> None:
    assert _found(text) == _expected(text)


def test_clusters_and_anchors() -> None:
    scan = TextScan("on 01.02.2024 call +49 30 901820 12 345, IBAN DE89370400440532013000 x")
    text = scan.text
    assert [text[a:b] for a, b in scan.clusters] == [
        "01.02.2024",
        "+49 30 901820 12 345",
        "89370400440532013000",
    ]
    # a capital, another one, then a digit within reach: "IBAN DE89" anchors at I, B, A and D
    assert [text[at : at + 2] for at in scan.anchors] == ["IB", "BA", "AN", "DE"]
    assert TextScan("no numbers here, only Words AND CAPITALS").clusters == []


def test_windows_reproduce_finditer() -> None:
    pattern = re.compile(r"\d(?<![\w.]\d)\d{2}(?![\w])")
    text = "a123 456 7.890 123b 999, 12 345"
    everything = [m.span() for m in pattern.finditer(text)]
    assert [m.span() for m in search_windows(pattern, text, [(0, len(text))], 0)] == everything
    assert [m.span() for m in match_starts(pattern, text, range(len(text)))] == everything
    assert [m.span() for m in search_windows(pattern, text, [(5, 9), (20, 30)], 3)] == [
        (5, 8),
        (20, 23),
        (28, 31),
    ]


def test_keyword_positions_and_near() -> None:
    words = keywords("tel", "telefon*", "call")
    assert words.stems == ("tel", "call")  # "telefon" is found through "tel"
    scan = TextScan("Telefonnummer: 030 901820; recall 123")
    assert scan.keyword_positions(words) == [0, 29]
    assert words.near_in(scan, 15, 25)
    recall = TextScan("recall 1234567")
    assert recall.keyword_positions(words) == [2]
    assert not words.near_in(recall, 7, 14)  # "recall" holds the stem but is not the word
    far = TextScan("x" * 80 + " 030 901820 tel")
    assert not words.near_in(far, 0, 5)


def test_near_falls_back_when_lower_case_moves_characters() -> None:
    words = keywords("sms")
    moved = TextScan("İİ SMS 612 345 678")  # "İ".lower() is two characters
    assert not moved.lower_keeps_places
    assert words.near_in(moved, 7, 18)
    assert TextScan("ſms 612").lower_keeps_places is False
