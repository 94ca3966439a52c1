"""MessagePack files (spaCy and Thinc pipelines: `lookups.bin`, `ner/model`, `tokenizer`).

MessagePack is data only: decoding it runs no code. A file counts as parsed when its bytes
are exactly one MessagePack value (decoded plainly, without spaCy's numpy hooks and with
extension types refused), so a `.bin` that is really MessagePack is not mistaken for an
unparseable pickle. The decoder is the one spaCy itself uses (`srsly`, `lockgate[ner]`); without
it the file is reported unscannable and `.bin` files block as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lockgate.registry.scan.model import Finding
from lockgate.registry.scan.rules import finding

MAX_BYTES = 512 * 1024 * 1024  # spaCy's largest pipelines keep their tables well below this


def _refuse_ext(code: int, data: bytes) -> Any:
    raise ValueError(f"extension type {code} is not used by spaCy pipelines")


def scan_msgpack(path: Path, name: str) -> list[Finding]:
    try:
        from srsly.msgpack._unpacker import unpackb  # type: ignore[import-untyped]
    except ImportError:
        return [
            finding(
                "msgpack.unscannable", name, "the MessagePack decoder (srsly, lockgate[ner]) is not installed"
            )
        ]
    size = path.stat().st_size
    if size > MAX_BYTES:
        return [finding("msgpack.unscannable", name, f"{size} bytes is over the {MAX_BYTES}-byte limit")]
    try:
        unpackb(path.read_bytes(), raw=True, strict_map_key=False, ext_hook=_refuse_ext)
    except Exception as exc:  # the decoder raises its own classes, ValueError and others
        return [finding("msgpack.malformed", name, f"not one MessagePack value: {exc}")]
    return []
