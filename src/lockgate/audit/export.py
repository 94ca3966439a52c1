"""Export audit rows in a time window as JSON Lines or CSV (one registry entry per format)."""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from sqlalchemy import Engine, select

from lockgate.audit.chain import HASHED_FIELDS, normalise
from lockgate.audit.crypto import ContentCipher
from lockgate.audit.tables import audit_log

FIELDS: tuple[str, ...] = ("chain_id", "seq", *HASHED_FIELDS, "prev_hash", "record_hash")
BODY_FIELDS = ("request_body", "response_body")


def iter_records(
    engine: Engine, start: float, end: float, cipher: ContentCipher | None = None
) -> Iterator[dict[str, Any]]:
    """Rows with ``start <= started_at < end`` in chain order; bodies decrypted when ``cipher``."""
    query = (
        select(audit_log)
        .where(audit_log.c.started_at >= start, audit_log.c.started_at < end)
        .order_by(audit_log.c.chain_id, audit_log.c.seq)
    )
    with engine.connect() as conn:
        for row in conn.execute(query.execution_options(yield_per=2000)):
            yield _record(row._mapping, cipher)


def _record(row: Any, cipher: ContentCipher | None) -> dict[str, Any]:
    out: dict[str, Any] = {"chain_id": row["chain_id"], "seq": int(row["seq"])}
    out.update(normalise(row))
    out["prev_hash"], out["record_hash"] = row["prev_hash"], row["record_hash"]
    if cipher is not None:
        for name in BODY_FIELDS:
            blob = row[name]
            plain = cipher.decrypt(bytes(blob), row["request_id"], name) if blob is not None else None
            out[name] = base64.b64encode(plain).decode("ascii") if plain is not None else None
    return out


def write_jsonl(records: Iterator[dict[str, Any]], out: TextIO) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n")
        count += 1
    return count


def write_csv(records: Iterator[dict[str, Any]], out: TextIO) -> int:
    writer: csv.DictWriter[str] | None = None
    count = 0
    for record in records:
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(record))
            writer.writeheader()
        flat = {**record, "pii_findings": json.dumps(record["pii_findings"], sort_keys=True)}
        writer.writerow(flat)
        count += 1
    if writer is None:
        csv.writer(out).writerow(FIELDS)
    return count


FORMATS: dict[str, Callable[[Iterator[dict[str, Any]], TextIO], int]] = {
    "jsonl": write_jsonl,
    "csv": write_csv,
}
