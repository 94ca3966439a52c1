"""Precision and recall of the name, address and health detectors, per type and language.

Run: .venv/bin/python bench/pii_quality.py [--set labelled|blind|blind2|all] [--check]

Reads `tests/pii/data/pii_labelled.jsonl` (the tuning set, built by `tests/pii/pii_labelled.py`)
and the two hand-written blind sets: `pii_blind.jsonl`, written before any tuning (its errors on
the first run were then seen, see docs/pii.md), and `pii_blind2.jsonl`, written after the
detectors were frozen and never used to change them: the clean measurement. A
found value counts as a true positive when it overlaps a labelled value of the same type; a
labelled value is recalled when some found value of its type overlaps it. Other types (IBAN,
phone, ...) are not scored here. `--check` exits 1 unless both blind sets meet the targets:
recall >= 0.9 for names and addresses, >= 0.85 for health, precision >= 0.95 for each.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import PiiScanner

DATA = Path(__file__).resolve().parents[1] / "tests" / "pii" / "data"
KINDS = ("name", "address", "health")
LANGS = ("en", "de", "fr", "it", "es", "pl", "nl")
TARGETS = {"name": (0.95, 0.90), "address": (0.95, 0.90), "health": (0.95, 0.85)}  # precision, recall


def load(name: str) -> list[dict[str, object]]:
    with (DATA / f"pii_{name}.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _spans(text: str, values: list[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for value in values:
        at = text.find(value)
        while at != -1 and (at, at + len(value)) in spans:
            at = text.find(value, at + 1)
        if at == -1:
            raise ValueError(f"label {value!r} not in {text!r}")
        spans.append((at, at + len(value)))
    return spans


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


Counts = dict[tuple[str, str], list[int]]  # (kind, lang) -> [tp, fp, fn]


def score(rows: list[dict[str, object]], scanner: PiiScanner, errors: list[str] | None = None) -> Counts:
    counts: Counts = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        text, lang = str(row["text"]), str(row["lang"])
        labels = row["labels"]
        assert isinstance(labels, list)
        found = [m for m in scanner.scan_text(text).matches if m.kind in KINDS]
        for kind in KINDS:
            gold = _spans(text, [v for k, v in labels if k == kind])
            got = [(m.start, m.end) for m in found if m.kind == kind]
            c = counts[(kind, lang)]
            for g in got:
                hit = any(_overlaps(g, s) for s in gold)
                c[0 if hit else 1] += 1
                if not hit and errors is not None:
                    errors.append(f"FP {kind:7} {lang} {text[g[0] : g[1]]!r} in {text!r}")
            for s in gold:
                if not any(_overlaps(s, g) for g in got):
                    c[2] += 1
                    if errors is not None:
                        errors.append(f"FN {kind:7} {lang} {text[s[0] : s[1]]!r} in {text!r}")
    return counts


def _pr(tp: int, fp: int, fn: int) -> tuple[float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


def totals(counts: Counts) -> dict[str, tuple[float, float, int]]:
    out: dict[str, tuple[float, float, int]] = {}
    for kind in KINDS:
        tp = sum(counts[(kind, lang)][0] for lang in LANGS)
        fp = sum(counts[(kind, lang)][1] for lang in LANGS)
        fn = sum(counts[(kind, lang)][2] for lang in LANGS)
        out[kind] = (*_pr(tp, fp, fn), tp + fn)
    return out


def report(title: str, rows: list[dict[str, object]], counts: Counts) -> None:
    print(f"\n{title}: {len(rows)} snippets")
    print(
        f"{'type':8} {'lang':4} {'labelled':>8} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}"
    )
    for kind in KINDS:
        for lang in LANGS:
            tp, fp, fn = counts[(kind, lang)]
            p, r = _pr(tp, fp, fn)
            print(f"{kind:8} {lang:4} {tp + fn:8d} {tp:4d} {fp:4d} {fn:4d} {p:9.3f} {r:7.3f}")
        p, r, n = totals(counts)[kind]
        print(f"{kind:8} {'all':4} {n:8d} {'':4} {'':4} {'':4} {p:9.3f} {r:7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("labelled", "blind", "blind2", "all"), default="all")
    parser.add_argument("--check", action="store_true", help="exit 1 unless the blind set meets the targets")
    parser.add_argument("--errors", action="store_true", help="print every false positive and negative")
    args = parser.parse_args()
    scanner = PiiScanner(PiiConfig(cache_entries=0))
    names = ("labelled", "blind", "blind2") if args.set == "all" else (args.set,)
    met = True
    for name in names:
        rows = load(name)
        errors: list[str] = []
        counts = score(rows, scanner, errors)
        report(f"{name} set", rows, counts)
        if args.errors:
            print("\n".join(errors))
        if name.startswith("blind"):
            print(f"\ntargets on the {name} set:")
            for kind, (p, r, _) in totals(counts).items():
                want_p, want_r = TARGETS[kind]
                ok = p >= want_p and r >= want_r
                met = met and ok
                verdict = "met" if ok else "NOT MET"
                print(f"  {kind:8} precision {p:.3f} (>= {want_p}) recall {r:.3f} (>= {want_r}): {verdict}")
    if args.check and not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
