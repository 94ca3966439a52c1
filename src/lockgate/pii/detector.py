"""Personal-data detection in request content.

`PiiScanner(config).scan_text(text)` and `.scan_request(body)` run the registered detectors
(see `lockgate.pii.registry`) over every string a provider would see and return `Findings`:
matches by type and position. Overlapping matches are resolved so that the longest wins (an
IBAN's digits never also count as a card or a phone number).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from lockgate.pii.base import Detector, OffLoopDetector
from lockgate.pii.candidates import TextScan
from lockgate.pii.config import PiiConfig
from lockgate.pii.fields import TextSlot, text_slots
from lockgate.pii.findings import Findings, Match
from lockgate.pii.registry import DETECTORS

__all__ = ["Findings", "Match", "PiiScanner"]

_SIGNALS = "@0123456789"


def has_signal(text: str) -> bool:
    """Every identifier holds a digit or an "@"; on text without either only the detectors
    that need no signal (names, health) run.

    Eleven substring tests run in C and beat one regex character-class search several times over.
    """
    return any(ch in text for ch in _SIGNALS)


def resolve_overlaps(candidates: list[tuple[int, Match]]) -> list[Match]:
    """Keep the longest of overlapping matches; ties go to the detector registered first."""
    ranked = sorted(candidates, key=lambda pm: (-len(pm[1]), pm[0], pm[1].start))
    kept: list[Match] = []
    for _, match in ranked:
        if all(match.end <= k.start or match.start >= k.end for k in kept):
            kept.append(match)
    return sorted(kept, key=lambda m: m.start)


CACHE_MIN_CHARS = 256  # shorter texts are cheaper to scan than to hash and look up


class PiiScanner:
    def __init__(self, config: PiiConfig) -> None:
        self.config = config
        wanted = set(config.active_detectors())
        unknown = set(config.detectors or ()) - set(DETECTORS)
        if unknown:
            raise ValueError(f"pii.detectors: unknown {sorted(unknown)}; choose from {sorted(DETECTORS)}")
        # texts already scanned (by content digest) -> their matches; None when disabled
        self._cache: OrderedDict[bytes, list[Match]] | None = OrderedDict() if config.cache_entries else None
        self._detectors: list[Detector] = [
            factory(config) for name, factory in DETECTORS.items() if name in wanted
        ]
        # (registration rank, detector) of those that also run on text without a digit or "@"
        self._unsignalled = [(rank, d) for rank, d in enumerate(self._detectors) if not d.needs_signal]
        # detectors too slow for the event loop (the NER backend); the cache is then shared with
        # their worker threads
        self._off_loop = [d for d in self._detectors if isinstance(d, OffLoopDetector)]
        self._cache_lock = threading.Lock()

    def scan_text(self, text: str) -> Findings:
        limit = self.config.max_scan_chars
        return Findings(self._scan(text[:limit]), truncated=len(text) > limit)

    def scan_request(self, body: dict[str, Any]) -> Findings:
        """Scan every string a provider would see: messages, tool-call arguments, prompt, input."""
        findings = Findings()
        for slot, matches, complete in self.scan_slots(body):
            findings.matches.extend(replace(m, path=slot.path) for m in matches)
            findings.truncated = findings.truncated or not complete
        return findings

    async def scan_request_async(self, body: dict[str, Any]) -> Findings:
        """`scan_request` for the event loop: in an off-loop detector's executor when one wants a
        string of `body` (NER on capitalised words), else right here as before."""
        worker = self._worker_for(body)
        if worker is None:
            return self.scan_request(body)
        return await asyncio.get_running_loop().run_in_executor(worker.executor, self.scan_request, body)

    def _worker_for(self, body: dict[str, Any]) -> OffLoopDetector | None:
        if not self._off_loop or not self.config.enabled:
            return None
        texts = [slot.text for slot in text_slots(body)]
        return next((d for d in self._off_loop if any(d.wants(t) for t in texts)), None)

    def scan_slots(self, body: dict[str, Any]) -> Iterator[tuple[TextSlot, list[Match], bool]]:
        """Per string of `body`: the slot, its matches, and whether it was scanned to the end.

        All strings together are scanned up to `config.max_scan_chars` characters.
        """
        budget = self.config.max_scan_chars
        for slot in text_slots(body):
            text = slot.text
            yield slot, self._scan(text[:budget]), len(text) <= budget
            budget = max(0, budget - len(text))

    def _scan(self, text: str) -> list[Match]:
        if not self.config.enabled or not text or not (self._unsignalled or has_signal(text)):
            return []
        if self._cache is None or len(text) < CACHE_MIN_CHARS:
            return self._scan_uncached(text)
        # chat clients resend the whole conversation every turn: earlier turns are cache hits
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self._cache_lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return list(found)
        found = self._scan_uncached(text)
        with self._cache_lock:
            self._cache[key] = found
            if len(self._cache) > self.config.cache_entries:
                self._cache.popitem(last=False)
        return list(found)

    def _scan_uncached(self, text: str) -> list[Match]:
        scan = TextScan(text)  # one candidate pass, shared by every detector
        ranked = enumerate(self._detectors) if has_signal(text) else iter(self._unsignalled)
        candidates = [(rank, m) for rank, d in ranked for m in d.find_in(scan)]
        return resolve_overlaps(candidates) if candidates else []
