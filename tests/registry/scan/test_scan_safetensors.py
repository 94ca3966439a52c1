"""safetensors header validation on hand-built files."""

from __future__ import annotations

import struct
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lockgate.registry.scan import scan_path


def _entry(dtype: str, shape: list[int], begin: int, end: int) -> dict[str, Any]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def _scan(tmp_path: Path, fx: SimpleNamespace, header: dict[str, Any], data: bytes) -> set[str]:
    path = tmp_path / "model.safetensors"
    path.write_bytes(fx.safetensors_bytes(header, data))
    report = scan_path(path)
    assert report.formats == {"model.safetensors": "safetensors"}
    return {f.rule for f in report.findings}


def test_valid_file_is_clean(tmp_path: Path, fx: SimpleNamespace) -> None:
    header = {
        "__metadata__": {"format": "pt"},
        "a": _entry("F32", [2, 2], 0, 16),
        "b": _entry("BF16", [4], 16, 24),
        "empty": _entry("I64", [0], 24, 24),
    }
    assert _scan(tmp_path, fx, header, b"\x00" * 24) == set()


def test_overlapping_offsets(tmp_path: Path, fx: SimpleNamespace) -> None:
    header = {"a": _entry("F32", [4], 0, 16), "b": _entry("F32", [4], 8, 24)}
    assert _scan(tmp_path, fx, header, b"\x00" * 24) == {"safetensors.overlap"}


def test_out_of_bounds_offsets(tmp_path: Path, fx: SimpleNamespace) -> None:
    header = {"a": _entry("F32", [4], 0, 16), "b": _entry("F32", [1024], 16, 4112)}
    assert "safetensors.out-of-bounds" in _scan(tmp_path, fx, header, b"\x00" * 16)


def test_unknown_dtype(tmp_path: Path, fx: SimpleNamespace) -> None:
    header = {"a": _entry("F128", [1], 0, 16)}
    assert "safetensors.bad-dtype" in _scan(tmp_path, fx, header, b"\x00" * 16)


def test_trailing_garbage(tmp_path: Path, fx: SimpleNamespace) -> None:
    header = {"a": _entry("F32", [2], 0, 8)}
    assert _scan(tmp_path, fx, header, b"\x00" * 8 + b"payload") == {"safetensors.trailing-data"}


def test_gap_between_tensors(tmp_path: Path, fx: SimpleNamespace) -> None:
    header = {"a": _entry("F32", [2], 0, 8), "b": _entry("F32", [2], 12, 20)}
    assert _scan(tmp_path, fx, header, b"\x00" * 20) == {"safetensors.gap"}


def test_shape_does_not_match_byte_range(tmp_path: Path, fx: SimpleNamespace) -> None:
    header = {"a": _entry("F32", [3], 0, 16)}
    assert _scan(tmp_path, fx, header, b"\x00" * 16) == {"safetensors.size-mismatch"}


@pytest.mark.parametrize(
    "entry",
    [
        {"dtype": "F32", "shape": [1]},
        {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]},
        {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]},
        {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "extra": 1},
    ],
)
def test_malformed_entries(tmp_path: Path, fx: SimpleNamespace, entry: dict[str, Any]) -> None:
    assert "safetensors.bad-entry" in _scan(tmp_path, fx, {"a": entry}, b"\x00" * 4)


def test_metadata_must_be_strings(tmp_path: Path, fx: SimpleNamespace) -> None:
    header = {"__metadata__": {"epochs": 3}, "a": _entry("U8", [1], 0, 1)}
    assert _scan(tmp_path, fx, header, b"\x00") == {"safetensors.bad-metadata"}


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (b'["a"]', "safetensors.header-invalid"),
        (b'{"a": 1, "a": 2}', "safetensors.header-invalid"),
        (b"{not json", "safetensors.header-invalid"),
    ],
)
def test_invalid_headers(tmp_path: Path, fx: SimpleNamespace, raw: bytes, rule: str) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(fx.safetensors_bytes({}, b"", raw_header=raw))
    assert {f.rule for f in scan_path(path).findings} == {rule}


def test_header_size_limit_and_truncation(tmp_path: Path) -> None:
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes(struct.pack("<Q", 200 * 1024 * 1024) + b"{}")
    short = tmp_path / "short.safetensors"
    short.write_bytes(struct.pack("<Q", 64) + b"{}")
    tiny = tmp_path / "tiny.safetensors"
    tiny.write_bytes(b"\x01")
    assert [f.rule for f in scan_path(huge).findings] == ["safetensors.header-too-large"]
    assert [f.rule for f in scan_path(short).findings] == ["safetensors.truncated"]
    assert [f.rule for f in scan_path(tiny).findings] == ["safetensors.truncated"]
    assert scan_path(huge).blocking
