"""Canonical form of an audit row and the hash chain over it.

``record_hash = sha256(bytes.fromhex(prev_hash) || canonical(row))`` where ``canonical`` is
sorted-key, compact JSON of the hashed fields, each normalised to its column type first, so
a row read back from SQLite or PostgreSQL hashes exactly as it did before it was written.
JSON is rendered by orjson (floats in their shortest round-trip form, the same on every
platform).  ``seq`` and ``chain_id`` are not hashed: the position of a record is fixed by the
``prev_hash`` links and, at each checkpoint, by the signed ``(seq, record_hash)``.  Bodies
are not hashed either (they may be erased earlier than the record); their plaintext
SHA-256 (``request_sha256``/``response_sha256``) is.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from lockgate.records import RequestRecord

GENESIS = "0" * 64


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int:
    return int(value or 0)


def _float(value: Any) -> float:
    out = float(value or 0.0)
    return out if math.isfinite(out) else 0.0


def _opt_float(value: Any) -> float | None:
    if value is None:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _findings(value: Any) -> dict[str, int]:
    """Type -> count, sorted by type: `prepared_row` dumps it as it is, in canonical order."""
    if not value:
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    return dict(sorted((str(k), int(v)) for k, v in dict(value).items()))


# hashed field -> normaliser applied both when writing and when re-reading (record order)
HASHED_FIELDS: dict[str, Callable[[Any], Any]] = {
    "request_id": str,
    "started_at": _float,
    "finished_at": _float,
    "instance": str,
    "endpoint": str,
    "key_id": _opt_str,
    "key_name": _opt_str,
    "team": _opt_str,
    "purpose": _opt_str,
    "model_alias": _opt_str,
    "deployment": _opt_str,
    "provider": _opt_str,
    "jurisdiction": _opt_str,
    "policy": _opt_str,
    "route_reason": _opt_str,
    "pii_findings": _findings,
    "prompt_tokens": _int,
    "completion_tokens": _int,
    "cached_tokens": _int,
    "cost": _float,
    "currency": _opt_str,
    "latency_ms": _float,
    "ttft_ms": _opt_float,
    "status": _int,
    "error_type": _opt_str,
    "stream": bool,
    "attempts": _int,
    "request_sha256": _opt_str,
    "response_sha256": _opt_str,
}
# the same in key order: a dict built by walking it is already in canonical (sorted-key)
# order, so orjson need not sort it
_IN_KEY_ORDER = tuple(sorted(HASHED_FIELDS.items()))


def normalise(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The hashed fields of ``row`` (a record dict or a database row), in canonical types."""
    return {name: fix(row.get(name)) for name, fix in HASHED_FIELDS.items()}


def canonical(row: Mapping[Any, Any]) -> bytes:
    return orjson.dumps(normalise(row), option=orjson.OPT_SORT_KEYS)


def link_canonical(prev_hash: str, canon: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canon).hexdigest()


def link(prev_hash: str, row: Mapping[Any, Any]) -> str:
    return link_canonical(prev_hash, canonical(row))


CANONICAL_KEY = "_canonical"  # carried from prepared_row to the appender, never stored


def prepared_row(record: RequestRecord) -> dict[str, Any]:
    """``record_columns`` plus the canonical bytes under ``CANONICAL_KEY``, so the appender
    hashes the record without normalising it a second time."""
    values = {name: fix(getattr(record, name)) for name, fix in _IN_KEY_ORDER}
    canon = orjson.dumps(values)  # built in key order, findings sorted: `canonical`'s bytes
    values["pii_findings"] = orjson.dumps(values["pii_findings"]).decode()
    values[CANONICAL_KEY] = canon
    return values


def record_columns(record: RequestRecord) -> dict[str, Any]:
    """The hashed columns of a record as they are stored (findings as canonical JSON text)."""
    values = prepared_row(record)
    del values[CANONICAL_KEY]
    return values
