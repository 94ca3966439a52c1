"""Redaction: replace detected values with placeholders, and put them back in replies.

`Redactor(scanner).redact(body)` returns a copy of the request body in which every detected
value is replaced by a stable placeholder (`[EMAIL_1]`, `[IBAN_1]`, `[NATIONAL_ID_DE_1]`; the same
value always gets the same placeholder) plus a `Restorer` holding the mapping. The restorer
undoes the replacement in a non-streamed reply (`restore`, `restore_obj`) and, through
`stream()`, in a streamed one where a placeholder may arrive split across chunks.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from lockgate.pii.chunks import ChunkRestorer
from lockgate.pii.detector import PiiScanner
from lockgate.pii.fields import TextSlot, text_slots
from lockgate.pii.findings import Findings, Match

PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*_[0-9]+\]")


def label(kind: str) -> str:
    """`national_id:de` -> `NATIONAL_ID_DE`."""
    return re.sub(r"[^A-Z0-9]+", "_", kind.upper()).strip("_")


@dataclass(slots=True)
class Restorer:
    """Placeholder -> original value for one request."""

    mapping: dict[str, str] = field(default_factory=dict)
    _prefixes: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __bool__(self) -> bool:
        return bool(self.mapping)

    def restore(self, text: str) -> str:
        if not self.mapping or "[" not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self.mapping.get(m.group(), m.group()), text)

    def restore_obj(self, obj: Any) -> Any:
        """Restore every string in a JSON-like value (a whole reply body, tool-call arguments)."""
        if isinstance(obj, str):
            return self.restore(obj)
        if isinstance(obj, list):
            return [self.restore_obj(item) for item in obj]
        if isinstance(obj, dict):
            return {key: self.restore_obj(value) for key, value in obj.items()}
        return obj

    def restore_response(self, response: Any) -> Any:
        """A whole non-streamed reply (content, legacy text and tool-call arguments alike)."""
        return self.restore_obj(response)

    def stream_hook(self) -> ChunkRestorer:
        """A hook for one streamed reply: parsed chunk dict in, restored chunk dict out."""
        return ChunkRestorer(self)

    def stream(self) -> StreamRestorer:
        """A restorer for one streamed text (one choice's content, or one tool call's arguments)."""
        return StreamRestorer(self)

    def is_partial(self, tail: str) -> bool:
        """True when `tail` is the beginning, but not the whole, of a known placeholder."""
        if self._prefixes is None:
            self._prefixes = frozenset(p[:i] for p in self.mapping for i in range(1, len(p)))
        return tail in self._prefixes

    @property
    def longest(self) -> int:
        return max(map(len, self.mapping), default=0)


class StreamRestorer:
    """Restores placeholders in a stream of text deltas.

    `feed` returns at once everything that cannot be the start of a known placeholder; it holds
    back only a trailing `[EMAIL_`-like fragment until the next delta decides it. `flush` returns
    whatever is still held when the stream ends.
    """

    def __init__(self, restorer: Restorer) -> None:
        self._restorer = restorer
        self._longest = restorer.longest
        self._held = ""

    def feed(self, delta: str) -> str:
        if not self._restorer:
            return delta
        buffer = self._held + delta
        cut = self._hold_from(buffer)
        self._held = buffer[cut:]
        return self._restorer.restore(buffer[:cut])

    def flush(self) -> str:
        held, self._held = self._held, ""
        return self._restorer.restore(held)

    def _hold_from(self, buffer: str) -> int:
        """Index of the earliest `[` whose tail could still grow into a known placeholder."""
        i = buffer.find("[", max(0, len(buffer) - self._longest + 1))
        while i != -1:
            if self._restorer.is_partial(buffer[i:]):
                return i
            i = buffer.find("[", i + 1)
        return len(buffer)


class _Numbering:
    """Hands out placeholders: one per distinct value, numbered per type, skipping any
    placeholder-shaped text the request already contains so restoring cannot touch it."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = taken
        self.by_value: dict[str, str] = {}
        self.next: dict[str, int] = {}

    def placeholder(self, match: Match) -> str:
        known = self.by_value.get(match.value)
        if known is not None:
            return known
        name = label(match.kind)
        n = self.next.get(name, 1)
        while f"[{name}_{n}]" in self.taken:
            n += 1
        self.next[name] = n + 1
        self.by_value[match.value] = placeholder = f"[{name}_{n}]"
        return placeholder


def replace_matches(text: str, matches: list[Match], numbering: _Numbering) -> str:
    parts: list[str] = []
    pos = 0
    for m in sorted(matches, key=lambda m: m.start):
        parts += [text[pos : m.start], numbering.placeholder(m)]
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts)


class Redactor:
    """Replaces detected values with placeholders.

    Give it a scanner, or pass the `Findings` of an earlier `scan_request` of the same body to
    `redact` so the body is not scanned twice (their `path`s say where each match sits).
    """

    def __init__(self, scanner: PiiScanner | None = None) -> None:
        self.scanner = scanner

    def redact(
        self, body: dict[str, Any], findings: Findings | None = None
    ) -> tuple[dict[str, Any], Restorer]:
        """A redacted copy of `body` (same paths as scanning) and the restorer for its reply."""
        redacted = copy.deepcopy(body)
        scanned = self._matches(redacted, findings)
        found = [(slot, matches) for slot, matches in scanned if matches]
        if not found:
            return redacted, Restorer()
        numbering = _Numbering({p for slot, _ in scanned for p in PLACEHOLDER.findall(slot.text)})
        for slot, matches in found:
            slot.set(replace_matches(slot.text, matches, numbering))
        return redacted, Restorer({p: v for v, p in numbering.by_value.items()})

    def redact_text(self, text: str) -> tuple[str, Restorer]:
        body, restorer = self.redact({"prompt": text})
        return str(body["prompt"]), restorer

    def _matches(self, body: dict[str, Any], findings: Findings | None) -> list[tuple[TextSlot, list[Match]]]:
        if findings is not None:
            by_path: dict[str, list[Match]] = {}
            for m in findings.matches:
                by_path.setdefault(m.path, []).append(m)
            return [(slot, _checked(slot, by_path.get(slot.path, []))) for slot in text_slots(body)]
        if self.scanner is None:
            raise ValueError("Redactor needs a PiiScanner or the findings of scanning this body")
        return [(slot, matches) for slot, matches, _ in self.scanner.scan_slots(body)]


def _checked(slot: TextSlot, matches: list[Match]) -> list[Match]:
    """Matches from findings are trusted only where they still fit the text they came from."""
    text = slot.text
    return [m for m in matches if text[m.start : m.end] == m.value]
