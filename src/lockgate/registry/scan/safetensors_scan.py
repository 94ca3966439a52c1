"""Validation of a safetensors header, parsed by hand (8-byte LE length, then a JSON object).

Checks: header size limit, valid JSON object without duplicate keys, known dtypes, shape x
dtype size equal to the byte range, offsets in bounds, no overlaps, no gaps and no trailing
bytes in the data section, and a string-only `__metadata__` map.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockgate.registry.scan.model import Finding, locate
from lockgate.registry.scan.rules import finding

MAX_HEADER_BYTES = 100 * 1024 * 1024
METADATA_KEY = "__metadata__"

# bits per element
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32, "C64": 64,
    "F64": 64, "I64": 64, "U64": 64,
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}  # fmt: skip


@dataclass(frozen=True)
class TensorEntry:
    name: str
    begin: int
    end: int


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _read_header(path: Path, name: str) -> tuple[dict[str, Any] | None, int, list[Finding]]:
    """Return (header, data section length, findings); header is None when unusable."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        prefix = fh.read(8)
        if len(prefix) < 8:
            return None, 0, [finding("safetensors.truncated", name, f"file has only {size} bytes")]
        (length,) = struct.unpack("<Q", prefix)
        if length > MAX_HEADER_BYTES:
            msg = f"header length {length} exceeds {MAX_HEADER_BYTES}"
            return None, 0, [finding("safetensors.header-too-large", name, msg)]
        if length > size - 8:
            msg = f"header length {length} runs past the end of the {size}-byte file"
            return None, 0, [finding("safetensors.truncated", name, msg)]
        raw = fh.read(length)
    try:
        if not raw.startswith(b"{"):
            raise ValueError("header does not start with '{'")
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, 0, [finding("safetensors.header-invalid", name, str(exc))]
    if not isinstance(header, dict):
        return None, 0, [finding("safetensors.header-invalid", name, "header is not a JSON object")]
    return header, size - 8 - length, []


def _check_metadata(metadata: Any, name: str) -> list[Finding]:
    if isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values()):
        return []
    return [finding("safetensors.bad-metadata", locate(name, METADATA_KEY), "values must all be strings")]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _entry_shape_error(entry: Any) -> str | None:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        return "entry must be an object with exactly dtype, shape and data_offsets"
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not isinstance(shape, list) or not all(_is_int(d) for d in shape):
        return "shape must be a list of non-negative integers"
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets):
        return "data_offsets must be two non-negative integers"
    if offsets[0] > offsets[1]:
        return f"data_offsets {offsets} end before they begin"
    return None


def _check_entry(
    tensor: str, entry: Any, data_len: int, name: str
) -> tuple[TensorEntry | None, list[Finding]]:
    where = locate(name, tensor)
    error = _entry_shape_error(entry)
    if error:
        return None, [finding("safetensors.bad-entry", where, error)]
    dtype, (begin, end) = entry["dtype"], entry["data_offsets"]
    if dtype not in DTYPE_BITS:
        return None, [finding("safetensors.bad-dtype", where, f"unknown dtype {dtype!r}")]
    findings = []
    if end > data_len:
        msg = f"data_offsets [{begin}, {end}] exceed the {data_len}-byte data section"
        findings.append(finding("safetensors.out-of-bounds", where, msg))
    bits = math.prod(entry["shape"]) * DTYPE_BITS[dtype]
    if bits % 8 or bits // 8 != end - begin:
        msg = f"shape {entry['shape']} x {dtype} needs {bits / 8:g} bytes, offsets span {end - begin}"
        findings.append(finding("safetensors.size-mismatch", where, msg))
    return TensorEntry(tensor, begin, end), findings


def _check_layout(entries: list[TensorEntry], data_len: int, name: str) -> list[Finding]:
    findings = []
    cursor, previous = 0, None
    for entry in sorted(entries, key=lambda e: (e.begin, e.end)):
        where = locate(name, entry.name)
        if previous is not None and entry.begin < cursor:
            msg = f"bytes [{entry.begin}, {min(entry.end, cursor)}) are also used by {previous}"
            findings.append(finding("safetensors.overlap", where, msg))
        elif entry.begin > cursor:
            findings.append(finding("safetensors.gap", where, f"unused bytes [{cursor}, {entry.begin})"))
        cursor, previous = max(cursor, entry.end), entry.name
    if cursor < data_len:
        msg = f"{data_len - cursor} bytes after the last tensor (data section is {data_len} bytes)"
        findings.append(finding("safetensors.trailing-data", name, msg))
    return findings


def scan_safetensors(path: Path, name: str) -> list[Finding]:
    header, data_len, findings = _read_header(path, name)
    if header is None:
        return findings
    entries: list[TensorEntry] = []
    for tensor, entry in header.items():
        if tensor == METADATA_KEY:
            findings.extend(_check_metadata(entry, name))
            continue
        checked, entry_findings = _check_entry(tensor, entry, data_len, name)
        findings.extend(entry_findings)
        if checked is not None:
            entries.append(checked)
    findings.extend(_check_layout(entries, data_len, name))
    return findings
