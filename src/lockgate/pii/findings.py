"""What a scan returns: matches with their type and position, counted by type."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Match:
    kind: str  # e.g. "iban", "email", "phone", "card", "vat", "national_id:de"
    value: str
    start: int
    end: int
    path: str = ""  # where in a request body the string sits, e.g. "messages[2].content"

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(slots=True)
class Findings:
    matches: list[Match] = field(default_factory=list)
    truncated: bool = False  # True when the scan stopped at `max_scan_chars`

    @property
    def counts(self) -> dict[str, int]:
        """Type -> number of matches. Never carries a value."""
        out: dict[str, int] = {}
        for m in self.matches:
            out[m.kind] = out.get(m.kind, 0) + 1
        return out

    def __bool__(self) -> bool:
        return bool(self.matches)
