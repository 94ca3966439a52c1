"""Garbage-collector counts of a running lockgate, read from its ``/metrics`` page.

``python_gc_collections_total{generation="2"}`` (prometheus-client's GC collector) counts the
full collections; the difference across a wrk run, per 10k requests served, is what the table
shows beside the c=32 p99.
"""

from __future__ import annotations

import re
import urllib.request

_GEN2 = re.compile(r'^python_gc_collections_total\{generation="2"\}\s+([0-9.e+]+)\s*$', re.MULTILINE)


def parse_gen2(metrics_text: str) -> int | None:
    """The number of full (generation 2) collections in a Prometheus exposition, if present."""
    match = _GEN2.search(metrics_text)
    return None if match is None else int(float(match.group(1)))


def gen2_collections(base_url: str, timeout: float = 5.0) -> int | None:
    """Full collections so far in the process behind ``base_url`` (None when it cannot be read)."""
    try:
        with urllib.request.urlopen(base_url + "/metrics", timeout=timeout) as resp:
            text: str = resp.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    return parse_gen2(text)


def per_10k(collections: int | None, requests: int) -> float | None:
    return None if collections is None or requests <= 0 else collections / requests * 10_000
