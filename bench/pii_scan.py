"""Cost of personal-data scanning on the request path, relative to parsing the request.

Run: .venv/bin/python bench/pii_scan.py [--rounds N]

For each prompt (about 2 KB) it builds a chat-completions body, then measures in the same run
`json.loads` of the serialised body and `PiiScanner.scan_request` of the parsed body, and prints
microseconds per call and their ratio. No absolute targets: machines differ, ratios travel.
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

from pii_corpus import email_de, email_en, identifier_prompt, ordinary_document
from pii_samples import SAMPLES

from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import PiiScanner
from lockgate.pii.redact import Redactor

SIZE = 2048


def prompts(rng: random.Random) -> dict[str, str]:
    prose = "".join(rng.choice([email_en, email_de])(rng) for _ in range(12))
    no_digits = " ".join(w for w in prose.split() if not any(c.isdigit() or c == "@" for c in w))
    values = [
        rng.choice(SAMPLES[k])(rng) for k in ("iban", "email", "phone", "card", "vat", "national_id:it")
    ]
    return {
        "ordinary (numbers, code, logs)": ordinary_document(rng, SIZE),
        "business prose": prose[:SIZE],
        "prose without digits or @": no_digits[:SIZE],
        "with 6 identifiers": identifier_prompt(rng, values, SIZE - 200),
    }


def per_call_us(fn: Callable[[], object], rounds: int) -> float:
    number = max(1, rounds // 5)
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    scanner = PiiScanner(PiiConfig())
    redactor = Redactor(scanner)
    header = ("prompt", "chars", "json.loads µs", "scan µs", "ratio", "redact µs", "found")
    print("{:32} {:>6} {:>14} {:>9} {:>7} {:>10} {}".format(*header))
    for name, text in prompts(random.Random(42)).items():
        payload = json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]})
        body = json.loads(payload)
        parse = per_call_us(partial(json.loads, payload), args.rounds)
        scan = per_call_us(partial(scanner.scan_request, body), args.rounds)
        redact = per_call_us(partial(redactor.redact, body), args.rounds)
        counts = scanner.scan_request(body).counts
        row = f"{name:32} {len(text):6d} {parse:14.1f} {scan:9.1f} {scan / parse:6.1f}x {redact:10.1f}"
        print(row, counts)


if __name__ == "__main__":
    main()
