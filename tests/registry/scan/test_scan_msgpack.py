"""MessagePack files (spaCy pipelines' `.bin` tables and component weights) in the scanner."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from lockgate.registry.scan import scan_path
from lockgate.registry.scan.detect import MSGPACK, PICKLE, detect

msgpack = pytest.importorskip("srsly.msgpack")


def _rules(path: Path) -> dict[str, bool]:
    return {f.rule: f.blocking for f in scan_path(path).findings}


def test_a_msgpack_bin_is_parsed_not_unparseable(tmp_path: Path) -> None:
    table = tmp_path / "lookups.bin"
    table.write_bytes(msgpack.packb({b"lemma_lookup": {b"was": b"be"}}))
    assert detect(table).to_scan == (MSGPACK,)
    assert not scan_path(table).blocking
    assert "file.unparseable" not in _rules(table) and "file.format-mismatch" not in _rules(table)


def test_a_bin_with_a_msgpack_header_that_does_not_decode_still_blocks(tmp_path: Path) -> None:
    broken = tmp_path / "weights.bin"
    broken.write_bytes(b"\x85" + b"\x00" * 3)  # a map of five entries, cut short
    rules = _rules(broken)
    assert rules.get("msgpack.malformed") is False and rules.get("file.unparseable") is True


def test_a_pickle_header_is_not_taken_for_msgpack(tmp_path: Path) -> None:
    evil = tmp_path / "model.bin"
    evil.write_bytes(pickle.dumps(eval, protocol=2))  # PROTO 2: 0x80 0x02, 0x80 is also a map header
    assert detect(evil).to_scan == (PICKLE,)
    rules = _rules(evil)
    assert rules.get("pickle.dangerous-global") is True and scan_path(evil).blocking


def test_a_headerless_pickle_in_a_bin_still_blocks(tmp_path: Path) -> None:
    # protocol-4 opcodes without PROTO: starts with SHORT_BINUNICODE (0x8c), a map header in MessagePack
    evil = tmp_path / "table.bin"
    evil.write_bytes(pickle.dumps(eval, protocol=4)[11:])  # drop PROTO and FRAME
    assert evil.read_bytes()[0] == 0x8C
    assert scan_path(evil).blocking


def test_a_pkl_holding_msgpack_is_a_format_mismatch(tmp_path: Path) -> None:
    odd = tmp_path / "weights.pkl"
    odd.write_bytes(msgpack.packb({b"a": 1}))
    assert _rules(odd).get("file.format-mismatch") is True


def test_numpy_arrays_are_not_taken_for_msgpack(tmp_path: Path) -> None:
    vectors = tmp_path / "vectors"
    vectors.write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': '<f4'}")
    assert MSGPACK not in detect(vectors).to_scan
