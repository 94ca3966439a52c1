"""GGUF scanner: metadata sanity, tensor bounds/overlaps and the embedded chat templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gguf import GGUFReader, GGUFValueType

from lockgate.registry.scan.model import Finding, Severity, locate
from lockgate.registry.scan.rules import finding
from lockgate.registry.scan.template_scan import scan_template

TEMPLATE_KEY = "tokenizer.chat_template"
MAX_CONTEXT_LENGTH = 1 << 24


def _string_field(reader: GGUFReader, key: str) -> str | None:
    field = reader.get_field(key)
    if field is None or not field.types or field.types[0] != GGUFValueType.STRING:
        return None
    value: Any = field.contents()
    return value if isinstance(value, str) else None


def _int_field(reader: GGUFReader, key: str) -> int | None:
    field = reader.get_field(key)
    if field is None or not field.types or field.types[0] in (GGUFValueType.STRING, GGUFValueType.ARRAY):
        return None
    value: Any = field.contents()
    return value if isinstance(value, int) else None


def chat_templates(reader: GGUFReader) -> dict[str, str]:
    """The default template and any named ones (`tokenizer.chat_template.<name>`), by key."""
    keys = [k for k in reader.fields if k == TEMPLATE_KEY or k.startswith(TEMPLATE_KEY + ".")]
    found = {key: _string_field(reader, key) for key in keys}
    return {key: value for key, value in found.items() if value is not None}


def _metadata_findings(reader: GGUFReader, name: str) -> list[Finding]:
    arch = _string_field(reader, "general.architecture")
    if not arch:
        return [finding("gguf.no-architecture", locate(name, "general.architecture"), "key is missing")]
    key = f"{arch}.context_length"
    length = _int_field(reader, key)
    if length is None:
        return [finding("gguf.context-length", locate(name, key), "key is missing", Severity.LOW)]
    if not 0 < length <= MAX_CONTEXT_LENGTH:
        return [finding("gguf.context-length", locate(name, key), f"implausible value {length}")]
    return []


def _tensor_findings(reader: GGUFReader, file_size: int, name: str) -> list[Finding]:
    findings = []
    declared = _int_field(reader, "GGUF.tensor_count")
    if declared != len(reader.tensors):
        msg = f"header declares {declared} tensors, table describes {len(reader.tensors)}"
        findings.append(finding("gguf.tensor-count", name, msg))
    end_so_far, previous = 0, ""
    for tensor in sorted(reader.tensors, key=lambda t: (t.data_offset, t.n_bytes)):
        where = locate(name, tensor.name)
        start, end = tensor.data_offset, tensor.data_offset + tensor.n_bytes
        if end > file_size:
            msg = f"bytes [{start}, {end}) run past the end of the {file_size}-byte file"
            findings.append(finding("gguf.tensor-bounds", where, msg))
        if start < end_so_far:
            findings.append(finding("gguf.tensor-overlap", where, f"starts at {start} inside {previous}"))
        if (start - reader.data_offset) % reader.alignment:
            msg = f"offset {start - reader.data_offset} is not a multiple of {reader.alignment}"
            findings.append(finding("gguf.tensor-alignment", where, msg))
        end_so_far, previous = max(end_so_far, end), tensor.name
    return findings


def open_reader(path: Path) -> GGUFReader:
    return GGUFReader(path)


def scan_gguf(path: Path, name: str) -> list[Finding]:
    try:
        reader = open_reader(path)
    except Exception as exc:  # the reader raises many types (ValueError, KeyError, numpy errors) on bad input
        return [finding("gguf.malformed", name, f"{type(exc).__name__}: {exc}")]
    findings = _metadata_findings(reader, name) + _tensor_findings(reader, path.stat().st_size, name)
    for key, template in chat_templates(reader).items():
        findings.extend(scan_template(template, locate(name, key)))
    return findings
