"""The scan cache: a resent conversation is not rescanned, results are identical, size is bounded."""

from __future__ import annotations

from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import CACHE_MIN_CHARS, PiiScanner

IBAN = "DE89370400440532013000"
HISTORY = "Please check the transfer details below. " * 10 + f"Account {IBAN}, thanks."


def _body(*texts: str) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": t} for t in texts]}


def test_cached_results_equal_fresh_results_and_skip_rescans() -> None:
    cached = PiiScanner(PiiConfig())
    fresh = PiiScanner(PiiConfig(cache_entries=0))
    assert len(HISTORY) >= CACHE_MIN_CHARS
    calls = 0
    original = cached._scan_uncached

    def counting(text: str) -> list:  # type: ignore[type-arg]
        nonlocal calls
        calls += 1
        return original(text)

    cached._scan_uncached = counting  # type: ignore[method-assign]
    first = cached.scan_request(_body(HISTORY))
    second = cached.scan_request(_body(HISTORY, "order 12345 shipped on 2026-11-28, see you. " * 8))
    assert first.counts == {"iban": 1} and second.counts == {"iban": 1}
    assert (
        second.matches
        == fresh.scan_request(_body(HISTORY, "order 12345 shipped on 2026-11-28, see you. " * 8)).matches
    )
    assert calls == 2  # the resent history was a cache hit; only the new turn was scanned
    assert second.matches[0].path == first.matches[0].path


def test_cache_is_bounded_and_can_be_disabled() -> None:
    scanner = PiiScanner(PiiConfig(cache_entries=3))
    for i in range(10):
        scanner.scan_text(f"{i} " + HISTORY)
    assert scanner._cache is not None and len(scanner._cache) == 3
    assert PiiScanner(PiiConfig(cache_entries=0))._cache is None
