"""Valid identifiers computed with python-stdnum / phonenumbers, and corrupted twins.

Every generator takes a `random.Random` so tests are deterministic; every value is checked
against the library before it is returned, so a sample can never silently be invalid.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

import phonenumbers
from stdnum import iban, luhn
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.eu import vat
from stdnum.fr import nir
from stdnum.iso7064 import mod_11_10
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel

Sample = Callable[[random.Random], str]


def _digits(rng: random.Random, n: int, first: str = "0123456789") -> str:
    return rng.choice(first) + "".join(rng.choice(string.digits) for _ in range(n - 1))


def iban_de(rng: random.Random) -> str:
    bban = _digits(rng, 8, "123456789") + _digits(rng, 10)
    value = f"DE{iban.calc_check_digits('DE00' + bban)}{bban}"
    assert iban.is_valid(value)
    return value


def iban_grouped(rng: random.Random) -> str:
    value = iban_de(rng)
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def vat_de(rng: random.Random) -> str:
    body = _digits(rng, 8, "123456789")
    value = f"DE{body}{mod_11_10.calc_check_digit(body)}"
    assert vat.is_valid(value)
    return value


def card_visa(rng: random.Random) -> str:
    body = "4" + _digits(rng, 14)
    value = body + luhn.calc_check_digit(body)
    assert luhn.is_valid(value)
    return value


def card_grouped(rng: random.Random) -> str:
    body = rng.choice(["51", "52", "55"]) + _digits(rng, 13)
    value = body + luhn.calc_check_digit(body)
    return " ".join(value[i : i + 4] for i in range(0, 16, 4))


def idnr_de(rng: random.Random) -> str:
    while True:
        digits = rng.sample("0123456789", 9)
        digits.insert(rng.randrange(1, 10), digits[rng.randrange(0, 9)])
        head = "".join(digits)
        value = head + mod_11_10.calc_check_digit(head)
        if idnr.is_valid(value):
            return value


def pesel_pl(rng: random.Random) -> str:
    head = f"{rng.randint(50, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{_digits(rng, 4)}"
    value = head + pesel.calc_check_digit(head)
    assert pesel.is_valid(value)
    return value


def bsn_nl(rng: random.Random) -> str:
    while True:
        value = _digits(rng, 9, "123456789")
        if bsn.is_valid(value):
            return value


def codice_fiscale_it(rng: random.Random) -> str:
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(6))
    head = (
        f"{letters}{rng.randint(40, 99):02d}{rng.choice('ABCDEHLMPRST')}{rng.randint(1, 28):02d}"
        f"{rng.choice('ABCDEFGHLM')}{rng.randint(100, 999)}"
    )
    value = head + codicefiscale.calc_check_digit(head)
    assert codicefiscale.is_valid(value)
    return value


def dni_es(rng: random.Random) -> str:
    head = _digits(rng, 8)
    value = head + dni.calc_check_digit(head)
    assert dni.is_valid(value)
    return value


def nie_es(rng: random.Random) -> str:
    head = rng.choice("XYZ") + _digits(rng, 7)
    value = head + nie.calc_check_digit(head)
    assert nie.is_valid(value)
    return value


def nir_fr(rng: random.Random) -> str:
    head = f"{rng.choice('12')}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}"
    head += f"{rng.randint(1, 95):02d}{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    value = head + nir.calc_check_digits(head)
    assert nir.is_valid(value)
    return value


def phone(rng: random.Random, region: str, international: bool = True) -> str:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    while True:
        national = str(example.national_number)
        candidate = national[:-3] + _digits(rng, 3)
        number = phonenumbers.parse(candidate, region)
        if phonenumbers.is_valid_number(number):
            style = phonenumbers.PhoneNumberFormat
            return phonenumbers.format_number(
                number, style.INTERNATIONAL if international else style.NATIONAL
            )


def email(rng: random.Random) -> str:
    user = rng.choice(["anna.schmidt", "j.dupont", "m_rossi+invoices", "p.kowalski", "jan.de.vries"])
    domain = rng.choice(["example.com", "firma-gmbh.de", "societe.fr", "mail.example.co.uk"])
    return f"{user}{rng.randint(1, 99)}@{domain}"


def corrupt(value: str) -> str:
    """Same shape, last digit changed: the checksum no longer holds."""
    for i in range(len(value) - 1, -1, -1):
        if value[i].isdigit():
            return f"{value[:i]}{(int(value[i]) + 1) % 10}{value[i + 1 :]}"
    raise AssertionError(f"no digit in {value!r}")


def corrupt_letter(value: str) -> str:
    """Same shape, final check letter changed."""
    last = value[-1]
    return value[:-1] + ("A" if last != "A" else "B")


# kind -> sample generators of that kind (used by round-trip and embedding tests)
SAMPLES: dict[str, list[Sample]] = {
    "iban": [iban_de, iban_grouped],
    "vat": [vat_de],
    "card": [card_visa, card_grouped],
    "national_id:de": [idnr_de],
    "national_id:pl": [pesel_pl],
    "national_id:nl": [bsn_nl],
    "national_id:it": [codice_fiscale_it],
    "national_id:es": [dni_es, nie_es],
    "national_id:fr": [nir_fr],
    "phone": [lambda rng: phone(rng, rng.choice(["DE", "FR", "IT", "ES", "NL", "PL", "GB"]))],
    "email": [email],
}

# Keywords that the weakly checksummed national IDs need next to them.
CONTEXT: dict[str, str] = {
    "national_id:de": "Steuer-ID",
    "national_id:pl": "PESEL",
    "national_id:nl": "BSN",
}
