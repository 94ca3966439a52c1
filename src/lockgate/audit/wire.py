"""RequestRecords on the pipe between the gateway and the audit writer process: an orjson
list of records, each a list of field values in ``RequestRecord`` order (bodies base64)."""

from __future__ import annotations

import base64
from dataclasses import fields
from operator import attrgetter
from typing import Any

import orjson

from lockgate.records import RequestRecord

NAMES: tuple[str, ...] = tuple(f.name for f in fields(RequestRecord))
_BODIES = frozenset({"request_body", "response_body"})
_BODY_AT = tuple(i for i, n in enumerate(NAMES) if n in _BODIES)
_VALUES = attrgetter(*NAMES)  # all fields in one C call: this runs on the request path


def row(record: RequestRecord) -> list[Any]:
    values: list[Any] = list(_VALUES(record))
    for i in _BODY_AT:
        if values[i] is not None:
            values[i] = base64.b64encode(values[i]).decode()
    return values


def encode(rows: list[list[Any]]) -> bytes:
    return orjson.dumps(rows)


def decode(frame: bytes) -> list[RequestRecord]:
    out = []
    for values in orjson.loads(frame):
        if len(values) != len(NAMES):
            raise ValueError(f"audit wire: a record of {len(values)} fields, expected {len(NAMES)}")
        for i in _BODY_AT:
            if values[i] is not None:
                values[i] = base64.b64decode(values[i])
        out.append(RequestRecord(*values))  # the fields in declaration order, as `row` sends them
    return out
