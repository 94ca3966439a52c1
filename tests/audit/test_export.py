"""Export writes the records of a window as JSON Lines or CSV, bodies only when asked and keyed."""

from __future__ import annotations

import base64
import csv
import io
import json

import pytest
from sqlalchemy import Engine

from lockgate.audit.crypto import ContentCipher
from lockgate.audit.export import FIELDS, iter_records, write_csv, write_jsonl
from lockgate.audit.signing import Signer
from lockgate.audit.testing import fill_chain, sample_record
from lockgate.audit.writer import AuditSink

T0 = 1_767_225_600.0


@pytest.fixture
def filled(engine: Engine, signer: Signer) -> Engine:
    fill_chain(engine, signer, [sample_record(i, started_at=T0 + i) for i in range(10)], checkpoint_every=4)
    return engine


def test_jsonl_window_is_half_open(filled: Engine) -> None:
    out = io.StringIO()
    assert write_jsonl(iter_records(filled, T0 + 2, T0 + 5), out) == 3
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [x["request_id"] for x in lines] == ["req-000002", "req-000003", "req-000004"]
    assert list(lines[0]) == list(FIELDS)
    assert lines[1]["pii_findings"] == {"email": 1} and lines[1]["seq"] == 4
    assert lines[1]["prev_hash"] == lines[0]["record_hash"]


def test_csv_has_header_and_rows(filled: Engine) -> None:
    out = io.StringIO()
    assert write_csv(iter_records(filled, T0, T0 + 100), out) == 10
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 10 and rows[9]["prompt_tokens"] == "19"
    assert json.loads(rows[1]["pii_findings"]) == {"email": 1}


def test_empty_csv_still_has_a_header(filled: Engine) -> None:
    out = io.StringIO()
    assert write_csv(iter_records(filled, 0, 1), out) == 0
    assert out.getvalue().strip().split(",")[:2] == ["chain_id", "seq"]


async def test_bodies_are_decrypted_only_with_the_key(engine: Engine, signer: Signer) -> None:
    cipher = ContentCipher("k")
    sink = AuditSink(engine, signer, cipher=cipher)
    await sink.start()
    sink.submit(sample_record(1, started_at=T0, request_body=b"hello", response_body=None))
    await sink.close()
    (plain,) = list(iter_records(engine, T0, T0 + 1))
    assert "request_body" not in plain
    (opened,) = list(iter_records(engine, T0, T0 + 1, cipher))
    assert base64.b64decode(opened["request_body"]) == b"hello" and opened["response_body"] is None
