"""The result types every scanner produces: severities, findings and per-path reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

LOCATION_SEPARATOR = "#"


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


@dataclass(frozen=True)
class Finding:
    """One problem found in one place.

    `location` is a file path relative to the scanned root, optionally followed by
    `#` and a detail inside the file (a tensor name, an archive member, a template key).
    """

    rule: str
    severity: Severity
    location: str
    message: str
    blocking: bool

    @property
    def file(self) -> str:
        return self.location.partition(LOCATION_SEPARATOR)[0]

    @property
    def detail(self) -> str:
        return self.location.partition(LOCATION_SEPARATOR)[2]

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "location": self.location,
            "message": self.message,
            "blocking": self.blocking,
        }


def locate(file: str, detail: str = "") -> str:
    """Build a `Finding.location` from a file and an optional in-file detail."""
    return f"{file}{LOCATION_SEPARATOR}{detail}" if detail else file


@dataclass
class ScanReport:
    path: str
    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    formats: dict[str, str] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return any(f.blocking for f in self.findings)

    @property
    def highest(self) -> Severity | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=lambda s: s.rank)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "blocking": self.blocking,
            "files_scanned": self.files_scanned,
            "formats": dict(self.formats),
            "findings": [f.to_json() for f in self.findings],
        }
