"""Cost of personal-data scanning on the request path, relative to parsing the request.

Run: .venv/bin/python bench/pii_scan.py [--rounds N]

For each prompt (about 2 KB) it builds a chat-completions body, then measures in the same run
`json.loads` of the serialised body, `PiiScanner.scan_request` with today's identifier
detectors only (`ids`: iban, card, national_id, vat, email, phone) and with every detector on
(`all`: plus address, name, health), and prints microseconds per call and their ratios. The
scan cache is off, so every call scans. The issue's budget: at most 1 ms for 2 KB of business
prose with every detector on; compare `all` with `ids` from the same run, as machines differ.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import timeit
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pii"))

from pii_corpus import email_de, email_en, email_fr, identifier_prompt, ordinary_document
from pii_samples import SAMPLES

from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import PiiScanner
from lockgate.pii.redact import Redactor

SIZE = 2048
IDENTIFIERS = ["iban", "card", "national_id", "vat", "email", "phone"]
PERSONAL = (
    "Sehr geehrte Frau Dr. Weber, anbei die Unterlagen für Herrn Jan Kowalski, Hauptstraße 5, "
    "10115 Berlin. Die Patientin leidet an Diabetes mellitus Typ 2. "
)


def prompts(rng: random.Random) -> dict[str, str]:
    prose = "".join(rng.choice([email_en, email_de, email_fr])(rng) for _ in range(12))
    no_digits = " ".join(w for w in prose.split() if not any(c.isdigit() or c == "@" for c in w))
    values = [
        rng.choice(SAMPLES[k])(rng) for k in ("iban", "email", "phone", "card", "vat", "national_id:it")
    ]
    return {
        "ordinary (numbers, code, logs)": ordinary_document(rng, SIZE),
        "business prose": prose[:SIZE],
        "prose without digits or @": no_digits[:SIZE],
        "with 6 identifiers": identifier_prompt(rng, values, SIZE - 200),
        "prose with name, address, health": (PERSONAL + prose)[:SIZE],
    }


def per_call_us(fn: Callable[[], object], rounds: int) -> float:
    number = max(1, rounds // 5)
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    ids = PiiScanner(PiiConfig(cache_entries=0, detectors=IDENTIFIERS))
    every = PiiScanner(PiiConfig(cache_entries=0))
    redactor = Redactor(every)
    header = (
        "prompt",
        "chars",
        "json µs",
        "ids µs",
        "all µs",
        "all/ids",
        "all/json",
        "redact µs",
        "found (all)",
    )
    print("{:34} {:>5} {:>8} {:>8} {:>8} {:>7} {:>8} {:>9} {}".format(*header))
    for name, text in prompts(random.Random(42)).items():
        payload = json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]})
        body = json.loads(payload)
        parse = per_call_us(partial(json.loads, payload), args.rounds)
        today = per_call_us(partial(ids.scan_request, body), args.rounds)
        scan = per_call_us(partial(every.scan_request, body), args.rounds)
        redact = per_call_us(partial(redactor.redact, body), args.rounds)
        counts = every.scan_request(body).counts
        row = (
            f"{name:34} {len(text):5d} {parse:8.1f} {today:8.1f} {scan:8.1f} {scan / today:6.1f}x "
            f"{scan / parse:7.1f}x {redact:9.1f}"
        )
        print(row, counts)


if __name__ == "__main__":
    main()
