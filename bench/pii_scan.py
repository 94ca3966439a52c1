"""Cost of personal-data scanning on the request path, relative to parsing the request.

Run: .venv/bin/python bench/pii_scan.py [--rounds N]

For each prompt (about 2 KB) it builds a chat-completions body, then measures in the same run
`json.loads` of the serialised body, `PiiScanner.scan_request` with today's identifier
detectors only (`ids`: iban, card, national_id, vat, email, phone) and with every detector on
(`all`: plus address, name, health), and prints microseconds per call and their ratios;
`sets µs` is the `all` scan with the word lists looked up in the text's word set instead of
Hyperscan (`lockgate.pii.lexicon`: the fallback where no Hyperscan wheel exists). The
scan cache is off, so every call scans. The issue's budget: at most 1 ms for 2 KB of business
prose with every detector on; compare `all` with `ids` from the same run, as machines differ.

The NER backend (`pii.ner`, docs/pii.md) is measured beside them on every prompt: `ner` is the
`all` scan plus Presidio over a spaCy pipeline. Without `--ner-pipeline DIR` two pipelines are
built in a temporary directory, never downloaded: `ruler` (an entity ruler with a few PERSON
patterns, what the tests use) and `cnn` (spaCy's default `ner` component with its own tok2vec,
initialised with random weights: the inference cost of a small statistical NER pipeline such as
the `*_core_*_sm` ones; its findings mean nothing). The bench loads them without the registry's
gate (it measures the scan, not the start). `--gil` also runs the `cnn` scan of business prose
in one and in two threads and prints how much of it runs in parallel.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pii"))

from pii_corpus import email_de, email_en, email_fr, identifier_prompt, ordinary_document
from pii_samples import SAMPLES

from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import PiiScanner
from lockgate.pii.lexicon import use_matcher
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


def ner_pipelines(tmp: Path, given: Path | None) -> dict[str, Path]:
    """The pipelines to measure: the one given, or a ruler and an untrained CNN built here."""
    if given is not None:
        return {given.name: given}
    import spacy

    ruler = spacy.blank("en")
    ruler.add_pipe("entity_ruler").add_patterns(
        [
            {"label": "PERSON", "pattern": [{"TEXT": "Jan"}, {"TEXT": "Kowalski"}]},
            {"label": "GPE", "pattern": "Berlin"},
        ]
    )
    ruler.to_disk(tmp / "ruler")
    cnn = spacy.blank("en")
    ner = cnn.add_pipe("ner")
    for label in ("PERSON", "GPE", "LOC", "ORG"):
        ner.add_label(label)
    cnn.initialize()
    cnn.to_disk(tmp / "cnn")
    return {"ruler": tmp / "ruler", "cnn": tmp / "cnn"}


def ner_scanner(path: Path) -> PiiScanner:
    return PiiScanner(
        PiiConfig.model_validate({"cache_entries": 0, "ner": {"enabled": True, "pipeline": path}})
    )


def gil_share(scanner: PiiScanner, body: dict[str, object], calls: int) -> tuple[float, float]:
    """Wall seconds for `calls` scans in one thread, and in two threads sharing them."""
    walls = []
    for threads in (1, 2):
        with ThreadPoolExecutor(threads) as pool:
            t0 = time.perf_counter()
            list(pool.map(lambda _: scanner.scan_request(body), range(calls)))
            walls.append(time.perf_counter() - t0)
    return walls[0], walls[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--ner-pipeline", type=Path, default=None, help="a spaCy pipeline directory")
    parser.add_argument("--no-ner", action="store_true", help="skip the NER backend lines")
    parser.add_argument("--gil", action="store_true", help="measure the NER scan in one and two threads")
    args = parser.parse_args()
    ids = PiiScanner(PiiConfig(cache_entries=0, detectors=IDENTIFIERS))
    every = PiiScanner(PiiConfig(cache_entries=0))
    ner: dict[str, PiiScanner] = {}
    if not args.no_ner:
        with tempfile.TemporaryDirectory(prefix="lockgate-bench-ner-") as tmp:  # loaded into memory
            ner = {
                label: ner_scanner(path)
                for label, path in ner_pipelines(Path(tmp), args.ner_pipeline).items()
            }
    redactor = Redactor(every)
    header = (
        "prompt",
        "chars",
        "json µs",
        "ids µs",
        "all µs",
        "all/ids",
        "all/json",
        "sets µs",
        "redact µs",
        "found (all)",
    )
    print("{:34} {:>5} {:>8} {:>8} {:>8} {:>7} {:>8} {:>8} {:>9} {}".format(*header))
    for name, text in prompts(random.Random(42)).items():
        payload = json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]})
        body = json.loads(payload)
        parse = per_call_us(partial(json.loads, payload), args.rounds)
        today = per_call_us(partial(ids.scan_request, body), args.rounds)
        scan = per_call_us(partial(every.scan_request, body), args.rounds)
        use_matcher("sets")
        sets = per_call_us(partial(every.scan_request, body), args.rounds)
        use_matcher(None)
        redact = per_call_us(partial(redactor.redact, body), args.rounds)
        counts = every.scan_request(body).counts
        row = (
            f"{name:34} {len(text):5d} {parse:8.1f} {today:8.1f} {scan:8.1f} {scan / today:6.1f}x "
            f"{scan / parse:7.1f}x {sets:8.1f} {redact:9.1f}"
        )
        print(row, counts)
        for label, scanner in ner.items():
            with_ner = per_call_us(partial(scanner.scan_request, body), max(5, args.rounds // 10))
            found = scanner.scan_request(body).counts
            print(
                f"  + ner ({label}){'':{25 - len(label)}} {with_ner:8.1f} µs  ner/all {with_ner / scan:6.1f}x  {found}"
            )
    if args.gil and "cnn" in ner:
        body = json.loads(
            json.dumps(
                {
                    "model": "m",
                    "messages": [{"role": "user", "content": prompts(random.Random(42))["business prose"]}],
                }
            )
        )
        one, two = gil_share(ner["cnn"], body, max(20, args.rounds // 5))
        print(
            f"ner (cnn) business prose: 1 thread {one:.2f} s, 2 threads {two:.2f} s for the same scans; "
            f"speed-up {one / two:.2f}x (1.0 = the GIL serialises them, 2.0 = fully parallel)"
        )


if __name__ == "__main__":
    main()
