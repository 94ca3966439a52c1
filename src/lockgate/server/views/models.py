"""Registered model artifacts as the console shows them: pinned hashes, scan findings, the
licence verdict for this operator and the acknowledgements, from the registry's own code."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Engine

from lockgate.registry.acks import list_acks
from lockgate.registry.config import OperatorConfig
from lockgate.registry.gate import blocking_rules, licence_findings
from lockgate.registry.records import all_artifacts as list_artifacts


def artifacts_view(engine: Engine, operator: OperatorConfig) -> list[dict[str, Any]]:
    out = []
    for art in list_artifacts(engine):
        licence, checkpoint, findings = licence_findings(art, operator)
        acks = list_acks(engine, art.id)
        acked = {a.rule for a in acks}
        blocking = blocking_rules(art, operator)
        out.append({
            "id": art.id, "name": art.name, "path": art.path, "format": art.format,
            "registered_at": art.registered_at, "architecture": art.architecture,
            "parameter_count": art.parameter_count, "quantization": art.quantization,
            "publisher": art.publisher, "publisher_country": art.publisher_country,
            "checkpoint": checkpoint.key if checkpoint else art.checkpoint,
            "signature_status": art.signature_status, "signature_detail": art.signature_detail,
            "files": [asdict(f) for f in art.files], "total_size": art.total_size,
            "scan_status": art.scan_status, "scan_findings": art.scan_findings(),
            "licence": {"spdx": licence.spdx if licence else "unknown", "name": licence.name if licence else None,
                        "url": licence.url if licence else None},
            "licence_findings": [asdict(f) for f in findings],
            "blocking": blocking,
            "unacknowledged": [r for r in blocking if r not in acked],
            "acknowledgements": [asdict(a) for a in acks],
        })  # fmt: skip
    return out
