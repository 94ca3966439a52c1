"""False positives on ordinary business text: none allowed on the generated corpus."""

from __future__ import annotations

from pii_corpus import ordinary_corpus

from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import PiiScanner


def test_no_false_positives_on_ordinary_corpus() -> None:
    scanner = PiiScanner(PiiConfig())
    docs = ordinary_corpus(seed=7, count=150)
    hits = [
        (m.kind, m.value, doc[max(0, m.start - 30) : m.end + 10])
        for doc in docs
        for m in scanner.scan_text(doc).matches
    ]
    assert sum(map(len, docs)) >= 150 * 2000
    assert hits == []


def test_corpus_is_not_trivially_empty_of_numbers() -> None:
    """The corpus must hold the shapes that trip naive scanners, or the test above proves nothing."""
    text = "\n".join(ordinary_corpus(seed=7, count=150))
    for shape in ("ORD-", "PO 45", "INV/", "ts=", "request_id=", "€", "EUR ", "JJD", "SELECT", "kernel 6."):
        assert shape in text
    assert sum(ch.isdigit() for ch in text) > len(text) // 10
