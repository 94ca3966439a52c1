"""The records on the pipe between the gateway and the audit writer process."""

from __future__ import annotations

import orjson
import pytest

from lockgate.audit.testing import sample_record
from lockgate.audit.wire import NAMES, decode, encode, row


def test_every_field_survives_the_wire_bodies_included() -> None:
    records = [
        sample_record(1, pii_findings={"email": 2}, request_body=b"\x00 body \xff", response_body=b"{}"),
        sample_record(2, ttft_ms=None, purpose=None, stream=True),
    ]
    back = decode(encode([row(r) for r in records]))
    assert back == records


def test_a_record_with_too_few_or_too_many_fields_is_refused() -> None:
    values = row(sample_record(3))
    for wrong in (values[:-1], [*values, None]):
        with pytest.raises(ValueError, match=f"{len(wrong)} fields, expected {len(NAMES)}"):
            decode(orjson.dumps([values, wrong]))
