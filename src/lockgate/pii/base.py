"""The detector interface and the small helpers every detector shares.

A detector turns one string into candidate `Match`es. Each one works in two steps: a compiled
regular expression finds cheap *candidates*, then a well-kept library (python-stdnum,
phonenumbers) validates them. Only validated values become matches. The patterns run only over
the spots that `lockgate.pii.candidates.TextScan` found in one pass over the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from typing import Protocol, runtime_checkable

from lockgate.pii.candidates import TextScan
from lockgate.pii.config import PiiConfig
from lockgate.pii.findings import Match
from lockgate.pii.keywords import Keywords, keywords

__all__ = [
    "Detector", "DetectorFactory", "Keywords", "OffLoopDetector", "ScanDetector", "Validator", "first_valid", "keywords",
    "standalone", "trimmed_candidates",
]  # fmt: skip


class Detector(Protocol):
    """Finds one family of identifiers in a string.

    `find_in` reads a `TextScan` that the scanner shares between all detectors of one text;
    `find(text)` is the same for a lone string. `needs_signal` is True for detectors whose
    values always hold a digit or an "@" (the scanner skips them on text without either);
    names and health terms hold neither and run on every text.
    """

    @property
    def needs_signal(self) -> bool: ...

    def find(self, text: str) -> Iterable[Match]: ...

    def find_in(self, scan: TextScan) -> Iterable[Match]: ...


@runtime_checkable
class OffLoopDetector(Protocol):
    """A detector too slow for the event loop (the NER backend).

    `PiiScanner.scan_request_async` runs the scan of a request in the detector's `executor`
    when `wants(text)` is true for one of its strings; every other request is scanned on the
    loop as before.
    """

    @property
    def executor(self) -> Executor: ...

    def wants(self, text: str) -> bool: ...


class ScanDetector:
    """Base for detectors that work on a `TextScan`: gives them `find(text)`."""

    needs_signal: bool = True

    def find(self, text: str) -> Iterable[Match]:
        return self.find_in(TextScan(text))

    def find_in(self, scan: TextScan) -> Iterable[Match]:
        raise NotImplementedError


DetectorFactory = Callable[[PiiConfig], Detector]
Validator = Callable[[str], bool]

_SEPARATOR = re.compile(r"[ \-./]")


def trimmed_candidates(candidate: str) -> Iterator[str]:
    """Yield `candidate`, then each shorter prefix that ends right before a separator.

    Prefilters that allow spaces between groups (`DE89 3704 ...`) may swallow a following
    word or number; validating the shorter prefixes recovers the identifier.
    """
    yield candidate
    cuts = [m.start() for m in _SEPARATOR.finditer(candidate)]
    for cut in reversed(cuts):
        yield candidate[:cut].rstrip(" -./")


def first_valid(
    kind: str, text: str, hit: re.Match[str], validate: Validator, *, min_len: int = 1
) -> Match | None:
    """Validate a prefilter hit (and its shorter prefixes); return the first standalone valid one."""
    start = hit.start()
    for candidate in trimmed_candidates(hit.group()):
        end = start + len(candidate)
        if len(candidate) >= min_len and standalone(text, start, end) and validate(candidate):
            return Match(kind, candidate, start, end)
    return None


def standalone(text: str, start: int, end: int) -> bool:
    """True when `text[start:end]` is not glued to a letter or digit on either side."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or after.isalnum())
