"""A generated corpus of ordinary business text that holds no personal identifiers.

Prose e-mails (English, German, French), code, SQL, logs, JSON, changelogs and finance notes,
full of the numbers that look like identifiers to a naive scanner: prices, dates, times,
order/invoice/tracking numbers, version strings, IP addresses, UUIDs, hashes, timestamps.
Used by the false-positive test and by bench/pii_scan.py.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

Paragraph = Callable[[random.Random], str]

_NAMES = ["Anna", "Marc", "Giulia", "Pablo", "Sanne", "Piotr", "Claire", "Tom"]
_PRODUCTS = ["steel brackets", "LED panels", "server racks", "office chairs", "cable trays"]
_MONTHS_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "septembre"]


def _date_iso(rng: random.Random) -> str:
    return f"{rng.randint(2019, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _date_eu(rng: random.Random) -> str:
    return f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(2019, 2026)}"


def _time(rng: random.Random) -> str:
    return f"{rng.randint(7, 19):02d}:{rng.choice(['00', '15', '30', '45'])}"


def _price_en(rng: random.Random) -> str:
    return f"EUR {rng.randint(1, 999_999):,}.{rng.randint(0, 99):02d}"


def _price_de(rng: random.Random) -> str:
    whole = f"{rng.randint(1, 999_999):,}".replace(",", ".")
    return f"{whole},{rng.randint(0, 99):02d} €"


def _price_fr(rng: random.Random) -> str:
    whole = f"{rng.randint(1000, 999_999):,}".replace(",", " ")
    return f"{whole},{rng.randint(0, 99):02d} €"


def _order(rng: random.Random) -> str:
    return rng.choice(
        [
            f"ORD-{rng.randint(2019, 2026)}-{rng.randint(1, 999_999):06d}",
            f"PO {rng.randint(4_500_000_000, 4_509_999_999)}",
            f"INV/{rng.randint(2019, 2026)}/{rng.randint(1, 99_999):05d}",
            f"#{rng.randint(10_000, 9_999_999)}",
            f"SO-{rng.randint(100_000, 999_999)}-{rng.choice('ABCDEF')}",
        ]
    )


def _version(rng: random.Random) -> str:
    return f"{rng.randint(0, 12)}.{rng.randint(0, 40)}.{rng.randint(0, 200)}"


def _ip(rng: random.Random) -> str:
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def email_en(rng: random.Random) -> str:
    name = rng.choice(_NAMES)
    return (
        f"Hi {name},\n\nthanks for your message of {_date_iso(rng)}. As discussed on our call at "
        f"{_time(rng)}, the revised quote for {rng.randint(2, 5000)} {rng.choice(_PRODUCTS)} comes to "
        f"{_price_en(rng)} excl. VAT, delivery in week {rng.randint(1, 52)}. Please quote order "
        f"{_order(rng)} and invoice {_order(rng)} in any reply. The discount of {rng.randint(2, 30)} % "
        f"applies until {_date_eu(rng)}.\n\nBest regards,\n{rng.choice(_NAMES)}\n"
    )


def email_de(rng: random.Random) -> str:
    return (
        f"Sehr geehrte Damen und Herren,\n\nvielen Dank für Ihre Anfrage vom {_date_eu(rng)}. Der "
        f"Gesamtbetrag beläuft sich auf {_price_de(rng)} zzgl. MwSt., Ihre Bestellnummer lautet "
        f"{_order(rng)}. Lieferung bis KW {rng.randint(1, 52)}, Rückruf gern ab {_time(rng)} Uhr. "
        f"Artikel {rng.randint(1000, 9999)}-{rng.randint(10, 999)} ist ab {_date_eu(rng)} wieder "
        f"lieferbar.\n\nMit freundlichen Grüßen\n{rng.choice(_NAMES)}\n"
    )


def email_fr(rng: random.Random) -> str:
    return (
        f"Bonjour,\n\nsuite à notre échange du {rng.randint(1, 28)} {rng.choice(_MONTHS_FR)} "
        f"{rng.randint(2019, 2026)}, je vous confirme le montant de {_price_fr(rng)} HT pour la "
        f"commande {_order(rng)}. La livraison est prévue le {_date_eu(rng)} entre {_time(rng)} et "
        f"{_time(rng)}.\n\nCordialement,\n{rng.choice(_NAMES)}\n"
    )


def code_python(rng: random.Random) -> str:
    return (
        "```python\n"
        f"TIMEOUT_S = {rng.randint(5, 120)}\nMAX_BYTES = {rng.randint(1, 64) * 1_048_576}\n"
        f'RELEASED = "{_date_iso(rng)}T{_time(rng)}:00Z"\n'
        f"def retry(n: int = {rng.randint(2, 9)}) -> float:\n"
        f"    return min({rng.randint(100, 90_000)}, 2 ** n * {rng.randint(10, 999)}) / 1000.0\n"
        f"assert sys.version_info >= (3, {rng.randint(8, 13)}, {rng.randint(0, 12)})\n"
        f'CHECKSUM = "{_hex(rng, 64)}"\n'
        "```\n"
    )


def code_sql(rng: random.Random) -> str:
    return (
        f"SELECT id, total FROM orders WHERE created_at >= '{_date_iso(rng)}' AND total > "
        f"{rng.randint(10, 99_999)}.{rng.randint(0, 99):02d} ORDER BY id LIMIT {rng.randint(10, 500)} "
        f"OFFSET {rng.randint(0, 100_000)};\n"
    )


def log_lines(rng: random.Random) -> str:
    return "".join(
        f"{_date_iso(rng)} {_time(rng)}:{rng.randint(0, 59):02d},{rng.randint(0, 999):03d} INFO "
        f"[worker-{rng.randint(1, 16)}] request_id={uuid.UUID(int=rng.getrandbits(128))} "
        f"client={_ip(rng)}:{rng.randint(1024, 65535)} took {rng.randint(1, 9999)} ms status=200 "
        f"bytes={rng.randint(100, 10_000_000)} ts={rng.randint(1_600_000_000, 1_800_000_000)}\n"
        for _ in range(3)
    )


def json_payload(rng: random.Random) -> str:
    return (
        f'{{"order_id": {rng.randint(1, 10_000_000)}, "sku": "SKU-{rng.randint(10_000, 99_999)}-B", '
        f'"price": {rng.randint(1, 9999)}.{rng.randint(0, 99):02d}, "qty": {rng.randint(1, 500)}, '
        f'"created": "{_date_iso(rng)}", "commit": "{_hex(rng, 40)}", '
        f'"weight_kg": 0.{rng.randint(1, 999)}}}\n'
    )


def changelog(rng: random.Random) -> str:
    return (
        f"- Upgraded numpy from {_version(rng)} to {_version(rng)} and CUDA to 12.{rng.randint(0, 9)}."
        f"{rng.randint(10, 199)}; driver {rng.randint(500, 580)}.{rng.randint(10, 99)}."
        f"{rng.randint(1, 99):02d}; "
        f"kernel 6.{rng.randint(1, 12)}.0-{rng.randint(10, 99)}-generic (build {rng.randint(1000, 99999)}).\n"
    )


def finance(rng: random.Random) -> str:
    return (
        f"Revenue grew {rng.randint(1, 40)}.{rng.randint(0, 9)} % to {_price_en(rng)} "
        f"in Q{rng.randint(1, 4)} "
        f"{rng.randint(2019, 2026)}, compared with {rng.randint(100, 999)} {rng.randint(100, 999)} "
        f"{rng.randint(100, 999)} EUR a year earlier; {rng.randint(1, 9)},{rng.randint(100, 999)},000 "
        f"shares outstanding, headcount {rng.randint(10, 9999):,}, margin {rng.randint(1, 60)} bp.\n"
    )


def shipping(rng: random.Random) -> str:
    return (
        f"Your parcel (tracking JJD{rng.randint(10**14, 10**15 - 1)} / 1Z{_hex(rng, 6).upper()}"
        f"{rng.randint(10**9, 10**10 - 1)}) leaves warehouse {rng.randint(1, 40)} on {_date_eu(rng)}; "
        f"gate {rng.randint(1, 99)}, pallet {rng.randint(100, 999)}/{rng.randint(1, 99)}, "
        f"{rng.randint(1, 40)} x {rng.randint(50, 999)} g, room {rng.randint(1, 9)}.{rng.randint(1, 40)}.\n"
    )


PARAGRAPHS: tuple[Paragraph, ...] = (
    email_en, email_de, email_fr, code_python, code_sql, log_lines, json_payload, changelog, finance,
    shipping,
)  # fmt: skip


def ordinary_document(rng: random.Random, size: int = 2048) -> str:
    parts: list[str] = []
    while sum(map(len, parts)) < size:
        parts.append(rng.choice(PARAGRAPHS)(rng))
    return "\n".join(parts)[:size]


def ordinary_corpus(seed: int = 7, count: int = 200, size: int = 2048) -> list[str]:
    rng = random.Random(seed)
    return [ordinary_document(rng, size) for _ in range(count)]


def identifier_prompt(rng: random.Random, identifiers: list[str], size: int = 2048) -> str:
    """An ordinary document of about `size` characters with `identifiers` spread through it."""
    words = ordinary_document(rng, size).split(" ")
    step = max(1, len(words) // (len(identifiers) + 1))
    for i, value in enumerate(identifiers, start=1):
        at = min(i * step, len(words) - 1)
        words[at] = f"{words[at]} {value}"
    return " ".join(words)
