from __future__ import annotations

import hashlib
import json

from lockgate.audit.chain import GENESIS, HASHED_FIELDS, canonical, link, normalise, record_columns
from lockgate.audit.testing import sample_record
from lockgate.records import RequestRecord


def test_canonical_is_sorted_compact_json_of_hashed_fields() -> None:
    rec = sample_record(3, pii_findings={"zeta": 1, "alpha": 2})
    text = canonical(rec.as_dict()).decode()
    parsed = json.loads(text)
    assert list(parsed) == sorted(HASHED_FIELDS)
    assert parsed["pii_findings"] == {"alpha": 2, "zeta": 1}
    assert ", " not in text and ": " not in text


def test_bodies_are_not_hashed_but_their_digests_are() -> None:
    a = sample_record(1, request_body=b"secret one")
    b = sample_record(1, request_body=b"other")
    assert canonical(a.as_dict()) == canonical(b.as_dict())
    c = sample_record(1, request_sha256="f" * 64)
    assert canonical(a.as_dict()) != canonical(c.as_dict())


def test_link_is_sha256_of_prev_and_canonical() -> None:
    row = sample_record(7).as_dict()
    expected = hashlib.sha256(bytes.fromhex(GENESIS) + canonical(row)).hexdigest()
    assert link(GENESIS, row) == expected


def test_every_hashed_field_changes_the_hash() -> None:
    base = record_columns(sample_record(5, ttft_ms=3.5, purpose="hr"))
    h = link(GENESIS, base)
    changed = {
        "request_id": "x", "started_at": 1.5, "finished_at": 2.5, "instance": "y", "endpoint": "e",
        "key_id": "k", "key_name": "n", "team": "t", "purpose": "p", "model_alias": "m",
        "deployment": "d", "provider": "pv", "jurisdiction": "US", "policy": "po", "route_reason": "r",
        "pii_findings": '{"iban":1}', "prompt_tokens": 1, "completion_tokens": 1, "cached_tokens": 9,
        "cost": 9.5, "currency": "USD", "latency_ms": 1.0, "ttft_ms": None, "status": 500,
        "error_type": "boom", "stream": True, "attempts": 4, "request_sha256": "0" * 64,
        "response_sha256": "1" * 64,
    }  # fmt: skip
    assert set(changed) == set(HASHED_FIELDS)
    for name, value in changed.items():
        assert link(GENESIS, {**base, name: value}) != h, name


def test_normalise_makes_database_types_hash_equal() -> None:
    rec = sample_record(2, cost=0.1 + 0.2, stream=True, pii_findings={"email": 2})
    stored = record_columns(rec)
    # what a driver may hand back: ints for bools, findings as text, floats for ints
    from_db = {**stored, "stream": 1, "prompt_tokens": float(stored["prompt_tokens"])}
    assert normalise(from_db) == normalise(rec.as_dict())
    assert link(GENESIS, from_db) == link(GENESIS, rec.as_dict())


def test_non_finite_floats_are_stored_as_finite() -> None:
    rec = RequestRecord(request_id="r", started_at=1.0, latency_ms=float("nan"), ttft_ms=float("inf"))
    cols = record_columns(rec)
    assert cols["latency_ms"] == 0.0 and cols["ttft_ms"] is None


def test_canonical_bytes_equal_a_sorted_key_dump_whatever_order_findings_arrive_in() -> None:
    """The canonical form is built in key order rather than sorted by orjson: it must give the
    bytes a sorted-key dump gives, for records and for rows read back (findings as text)."""
    import orjson

    from lockgate.audit.chain import CANONICAL_KEY, prepared_row

    findings = [{}, {"zeta": 1, "alpha": 2, "email": 3}, {"phone": 1}, {"b": 1, "a": 1}]
    for i, found in enumerate(findings):
        rec = sample_record(i, pii_findings=found, ttft_ms=None if i % 2 else 1.25, purpose=None)
        reference = orjson.dumps(normalise(rec.as_dict()), option=orjson.OPT_SORT_KEYS)
        assert canonical(rec.as_dict()) == reference
        row = prepared_row(rec)
        assert row[CANONICAL_KEY] == reference
        unsorted_text = json.dumps(dict(reversed(list(found.items()))))
        from_db = {**record_columns(rec), "pii_findings": unsorted_text}
        assert canonical(from_db) == reference
        assert json.loads(row["pii_findings"]) == found and list(json.loads(row["pii_findings"])) == sorted(found)
