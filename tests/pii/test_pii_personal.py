"""Names, postal addresses and health data: detectors, per-type actions, redaction, quality."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import PiiScanner
from lockgate.pii.redact import Redactor

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import pii_quality

SCANNER = PiiScanner(PiiConfig(cache_entries=0))
MARIA = "Maria Schmidt, Hauptstrasse 5, 10115 Berlin, diagnosis: type 2 diabetes"


def found(text: str) -> list[tuple[str, str]]:
    return [(m.kind, m.value) for m in SCANNER.scan_text(text).matches]


def test_the_issue_example() -> None:
    assert found(MARIA) == [
        ("name", "Maria Schmidt"),
        ("address", "Hauptstrasse 5, 10115 Berlin"),
        ("health", "type 2 diabetes"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sehr geehrte Frau Dr. Brandstätter, anbei", [("name", "Brandstätter")]),
        ("Geachte Mevr. de Jong, bedankt", [("name", "de Jong")]),
        ("Bonjour M. Gauthier, merci", [("name", "Gauthier")]),
        ("Szanowna Pani Wiśniewska, przesyłamy", [("name", "Wiśniewska")]),
        ("Nome e cognome: Luca Marino", [("name", "Luca Marino")]),
        ("Best regards,\nJan Kowalski\nSales", [("name", "Jan Kowalski")]),
        ("Please ask Peter Lindqvist to sign.", [("name", "Peter Lindqvist")]),
        ("12 rue de la Paix, 75002 Paris", [("address", "12 rue de la Paix, 75002 Paris")]),
        ("Via Roma 10, 80138 Napoli", [("address", "Via Roma 10, 80138 Napoli")]),
        ("C/ Gran Vía 32, 28013 Madrid", [("address", "C/ Gran Vía 32, 28013 Madrid")]),
        ("ul. Długa 5, 31-147 Kraków", [("address", "ul. Długa 5, 31-147 Kraków")]),
        ("Keizersgracht 123, 1015 CJ Amsterdam", [("address", "Keizersgracht 123, 1015 CJ Amsterdam")]),
        ("221B Baker Street, London NW1 6XE", [("address", "221B Baker Street, London NW1 6XE")]),
        ("Ich habe Migräne.", [("health", "Migräne")]),
        ("Diagnose: F32.1", [("health", "F32.1")]),
        ("Mam cukrzycę typu 1.", [("health", "cukrzycę typu 1")]),
    ],
)
def test_found_in_context(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Hi Anna, thanks for the update.",  # a first name alone is not a person
        "Best regards,\nMarc",
        "Sehr geehrte Damen und Herren, anbei das Angebot.",
        "Die Robert Bosch GmbH liefert ab KW 12.",
        "Prendete Via Giuseppe Garibaldi e girate a destra.",
        "Fahren Sie über die Goethestraße bis zur Ampel.",
        "Wir fahren von Essen nach Münster.",
        "Type 2 diabetes affects more than 400 million adults.",  # medical text without a person
        "The study enrolled 1,200 patients with hypertension.",
        "Bitte liefern Sie bis 10115 Berlin.",  # postcode and city without a street
        "Order 12345 Berlin office, see ticket 55120.",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert found(text) == []


def test_text_without_digits_still_scanned_for_names_and_health() -> None:
    assert found("Mein Sohn hat ADHS, sagt Frau Yilmaz.") == [("health", "ADHS"), ("name", "Yilmaz")]


def test_only_the_identifier_detectors_when_asked() -> None:
    scanner = PiiScanner(PiiConfig(detectors=["iban", "email"]))
    assert scanner.scan_text(MARIA).matches == []


# -- per-type actions ---------------------------------------------------------------------
def test_action_for_takes_the_strictest_of_the_types_found() -> None:
    config = PiiConfig(action="redact", types={"health": "block", "name": "route", "national_id:de": "block"})
    assert config.action_for(["email"]) == "redact"
    assert config.action_for(["name", "email"]) == "route"
    assert config.action_for(["name", "health"]) == "block"
    assert config.action_for(["national_id:de"]) == "block"
    assert config.action_for(["national_id:it"]) == "redact"
    assert config.action_for([]) == "redact"
    assert PiiConfig(types={"national_id": "block"}).action_for(["national_id:fr"]) == "block"


def test_unknown_types_and_detectors_fail_validation() -> None:
    with pytest.raises(ValidationError, match="unknown type"):
        PiiConfig(types={"healt": "block"})
    with pytest.raises(ValidationError, match="unknown detector"):
        PiiConfig(detectors=["names"])
    with pytest.raises(ValidationError):
        PiiConfig(types={"health": "drop"})


# -- redaction ----------------------------------------------------------------------------
def test_redaction_placeholders_for_the_new_types_and_restore() -> None:
    redactor = Redactor(SCANNER)
    text, restorer = redactor.redact_text(f"{MARIA}. Regards to Maria Schmidt.")
    assert text == "[NAME_1], [ADDRESS_1], diagnosis: [HEALTH_1]. Regards to [NAME_1]."
    reply = "Noted: [NAME_1] lives at [ADDRESS_1] ([HEALTH_1])."
    assert restorer.restore(reply) == (
        "Noted: Maria Schmidt lives at Hauptstrasse 5, 10115 Berlin (type 2 diabetes)."
    )
    stream = restorer.stream()
    pieces = [stream.feed(reply[i : i + 3]) for i in range(0, len(reply), 3)] + [stream.flush()]
    assert "".join(pieces) == restorer.restore(reply)
    assert not any("[NAME_" in p or "[HEALTH_" in p for p in pieces)


# -- quality --------------------------------------------------------------------------------
def test_labelled_set_is_large_and_covers_every_language_and_type() -> None:
    rows = pii_quality.load("labelled")
    assert len(rows) >= 600
    blinds = [pii_quality.load("blind"), pii_quality.load("blind2")]
    assert all(len(blind) >= 150 for blind in blinds)
    for data in (rows, *blinds):
        assert {r["lang"] for r in data} == set(pii_quality.LANGS)
        kinds = {k for r in data for k, _ in r["labels"]}  # type: ignore[attr-defined]
        assert kinds == set(pii_quality.KINDS)
        assert sum(not r["labels"] for r in data) >= len(data) // 6  # hard negatives


@pytest.mark.parametrize("name", ["labelled", "blind", "blind2"])
def test_quality_targets(name: str) -> None:
    totals = pii_quality.totals(pii_quality.score(pii_quality.load(name), SCANNER))
    for kind, (precision, recall, _) in totals.items():
        want_p, want_r = pii_quality.TARGETS[kind]
        assert precision >= want_p and recall >= want_r, (name, kind, precision, recall)


def test_sovereign_example_blocks_health_and_routes_names() -> None:
    from lockgate.config.loader import load_config

    example = Path(__file__).resolve().parents[2] / "examples" / "sovereign.yaml"
    pii = load_config(example).pii
    assert pii.action_for(["health"]) == "block"
    assert pii.action_for(["name", "address", "iban"]) == "route"
    assert pii.action_for(["name", "health"]) == "block"
