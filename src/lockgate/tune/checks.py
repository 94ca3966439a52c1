"""Checks before training: personal data in the dataset needs a legal basis.

Every example goes through lockgate's own personal-data scanner (the one the gateway runs on
requests), with no length cap.  Findings are counted by type and line, never with their
values.  When something is found the run stops unless the operator records an
acknowledgement (``--ack "reason"``), which is kept in the run record and the lineage.
"""

from __future__ import annotations

import getpass
import time
from dataclasses import dataclass, field
from typing import Any

from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import PiiScanner
from lockgate.tune.dataset import Dataset
from lockgate.tune.errors import PersonalDataFound

LINES_SHOWN = 10


@dataclass
class PiiReport:
    counts: dict[str, int] = field(default_factory=dict)  # type -> matches
    lines: list[int] = field(default_factory=list)  # lines with any finding
    ack: dict[str, Any] | None = None  # reason, by, at

    @property
    def found(self) -> bool:
        return bool(self.lines)

    def to_json(self) -> dict[str, Any]:
        return {"counts": self.counts, "lines": self.lines, "ack": self.ack}


def scan_dataset(dataset: Dataset, config: PiiConfig) -> PiiReport:
    """Scan every example's messages; the scan is on even where the gateway's is configured off."""
    cfg = config.model_copy(update={"enabled": True, "max_scan_chars": 10**9, "cache_entries": 0})
    scanner = PiiScanner(cfg)
    report = PiiReport()
    for line, example in dataset.examples:
        findings = scanner.scan_request({"messages": [m.model_dump() for m in example.messages]})
        if findings:
            report.lines.append(line)
            for kind, n in findings.counts.items():
                report.counts[kind] = report.counts.get(kind, 0) + n
    return report


def require_basis(report: PiiReport, ack: str | None) -> PiiReport:
    """Pass a clean report; refuse one with findings unless ``ack`` gives the reason to go on."""
    if not report.found:
        return report
    if ack is None or not ack.strip():
        kinds = ", ".join(f"{k} x{n}" for k, n in sorted(report.counts.items()))
        lines = ", ".join(str(n) for n in report.lines[:LINES_SHOWN])
        more = f" and {len(report.lines) - LINES_SHOWN} more" if len(report.lines) > LINES_SHOWN else ""
        raise PersonalDataFound(
            f"the dataset holds personal data ({kinds}) on line(s) {lines}{more}; training on personal "
            'data needs a legal basis: remove it, or record why you may use it with --ack "reason"'
        )
    report.ack = {"reason": ack.strip(), "by": getpass.getuser(), "at": time.time()}
    return report
