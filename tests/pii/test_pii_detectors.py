"""Each detector: valid numbers are found, the same shape with a broken checksum is not."""

from __future__ import annotations

import random

import pytest
from pii_samples import CONTEXT, SAMPLES, corrupt, corrupt_letter, phone

from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import PiiScanner

SEEDS = range(8)
SCANNER = PiiScanner(PiiConfig())


def kinds(text: str) -> list[tuple[str, str]]:
    return [(m.kind, m.value) for m in SCANNER.scan_text(text).matches]


def sentence(kind: str, value: str) -> str:
    return f"Hello, {CONTEXT.get(kind, 'the number is')} {value}, thanks."


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_valid_identifier_is_found(kind: str, seed: int) -> None:
    rng = random.Random(seed)
    for sample in SAMPLES[kind]:
        value = sample(rng)
        assert kinds(sentence(kind, value)) == [(kind, value)]


CORRUPTIBLE = [k for k in SAMPLES if k not in {"email", "phone", "national_id:it"}]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", CORRUPTIBLE)
def test_bad_checksum_is_not_found(kind: str, seed: int) -> None:
    rng = random.Random(seed)
    for sample in SAMPLES[kind]:
        value = sample(rng)
        broken = corrupt_letter(value) if value[-1].isalpha() else corrupt(value)
        assert kinds(sentence(kind, broken)) == []


def test_known_valid_examples() -> None:
    assert kinds("IBAN DE89370400440532013000") == [("iban", "DE89370400440532013000")]
    assert kinds("IBAN DE89 3704 0044 0532 0130 00.") == [("iban", "DE89 3704 0044 0532 0130 00")]
    assert kinds("IBAN GB82 WEST 1234 5698 7654 32 FROM now") == [("iban", "GB82 WEST 1234 5698 7654 32")]
    assert kinds("IBAN DE88370400440532013000") == []
    assert kinds("USt-IdNr. DE136695976") == [("vat", "DE136695976")]
    assert kinds("Visa 4111 1111 1111 1111 exp 12/27") == [("card", "4111 1111 1111 1111")]
    assert kinds("Amex 3782-822463-10005") == [("card", "3782-822463-10005")]
    assert kinds("codice fiscale RSSMRA85T10A562S") == [("national_id:it", "RSSMRA85T10A562S")]


def test_codice_fiscale_bad_check_letter() -> None:
    assert kinds("codice fiscale RSSMRA85T10A562T") == []


def test_card_needs_known_issuer_and_luhn() -> None:
    assert kinds("ref 9111111111111111") == []  # Luhn-valid shape, no issuer starts with 9
    assert kinds("card 4111111111111112") == []


def test_weak_national_ids_need_context() -> None:
    rng = random.Random(3)
    for kind in CONTEXT:
        value = SAMPLES[kind][0](rng)
        assert kinds(f"order {value} shipped") == []
        assert kinds(f"{CONTEXT[kind]}: {value}") == [(kind, value)]


@pytest.mark.parametrize("region", ["DE", "FR", "IT", "ES", "NL", "PL", "GB"])
def test_phone_international_and_national(region: str) -> None:
    rng = random.Random(region)
    international = phone(rng, region)
    assert kinds(f"reach me at {international} tomorrow") == [("phone", international)]
    national = phone(rng, region, international=False)
    assert kinds(f"Tel.: {national}") == [("phone", national)]


def test_phone_without_trunk_prefix_needs_a_phone_word() -> None:
    assert kinds("order 612 345 678 was shipped") == []
    assert kinds("Llámame al 612 345 678") == [("phone", "612 345 678")]


@pytest.mark.parametrize(
    "text",
    [
        "on 01.02.2024 at 10:30",
        "call on 2024-06-10 at 14:30",
        "price 1 234 567,89 EUR",
        "version 10.2.13.4567",
        "client 192.168.100.200:8443",
        "ts=1718031131 took 1834 ms",
        "request_id=02818226-d0d6-e2a2-45c8-2c9b3fa1e0d2",
        "order 4839201734 / PO 4500012345",
    ],
)
def test_ordinary_numbers_are_not_phones(text: str) -> None:
    assert kinds(text) == []


def test_email_addresses() -> None:
    text = "Write to jürgen.x@example.co.uk. or a@b.de,c@d.fr; not @decorator, lodash@4.17.21, a@@b.de"
    assert [v for _, v in kinds(text)] == ["jürgen.x@example.co.uk", "a@b.de", "c@d.fr"]


def test_text_without_digits_or_at_sign_finds_nothing() -> None:
    assert kinds("Dear team, the quarterly review moved to Thursday afternoon. " * 50) == []
