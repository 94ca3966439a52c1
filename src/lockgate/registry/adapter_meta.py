"""What a GGUF file says about itself as a LoRA adapter, and the lineage kept in its record.

llama.cpp's adapters (``convert_lora_to_gguf.py``, ``lockgate tune``) carry
``general.type = "adapter"``, ``adapter.type = "lora"`` and ``adapter.lora.alpha``;
``lockgate tune`` adds ``lockgate.base.sha256``, the SHA-256 of the base GGUF it was trained
on.  Registration keeps these in the artifact's metadata (``LINEAGE_KEY`` for the base hash;
``lockgate tune`` also records the base in its own lineage), so the serving gate can refuse an
adapter on a base it was not made for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf

GGUF_TYPE_KEY = "general.type"
ADAPTER_TYPE_KEY = "adapter.type"
ALPHA_KEY = "adapter.lora.alpha"
BASE_SHA256_KEY = "lockgate.base.sha256"
LINEAGE_KEY = "base_sha256"  # the base model's SHA-256 in an artifact's metadata
TUNE_LINEAGE_KEY = "lineage"  # ``lockgate tune``'s lineage record: {"base": {"sha256": ...}, ...}


@dataclass(frozen=True)
class AdapterMeta:
    general_type: str | None = None
    adapter_type: str | None = None
    architecture: str | None = None
    alpha: float | None = None
    base_sha256: str | None = None

    @property
    def is_lora(self) -> bool:
        return self.general_type == "adapter" and self.adapter_type == "lora"

    def lineage(self) -> dict[str, Any]:
        """What registration records of an adapter (nothing for other files)."""
        if self.general_type != "adapter":
            return {}
        found = {"gguf_type": self.general_type, "adapter_type": self.adapter_type,
                 "lora_alpha": self.alpha, LINEAGE_KEY: self.base_sha256}  # fmt: skip
        return {k: v for k, v in found.items() if v is not None}


def _value(reader: gguf.GGUFReader, key: str) -> Any:
    fld = reader.get_field(key)
    return None if fld is None else fld.contents()


def _text(reader: gguf.GGUFReader, key: str) -> str | None:
    value = _value(reader, key)
    return value.strip() if isinstance(value, str) else None


def adapter_meta(reader: gguf.GGUFReader) -> AdapterMeta:
    alpha = _value(reader, ALPHA_KEY)
    base = _text(reader, BASE_SHA256_KEY)
    return AdapterMeta(
        general_type=_text(reader, GGUF_TYPE_KEY),
        adapter_type=_text(reader, ADAPTER_TYPE_KEY),
        architecture=_text(reader, "general.architecture"),
        alpha=float(alpha) if isinstance(alpha, int | float) else None,
        base_sha256=base.lower() if base else None,
    )


def recorded_base_hashes(metadata: dict[str, Any]) -> dict[str, str]:
    """The base model hashes an artifact's record states, by where it states them."""
    found: dict[str, Any] = {f"metadata.{LINEAGE_KEY}": metadata.get(LINEAGE_KEY)}
    lineage = metadata.get(TUNE_LINEAGE_KEY)
    base = lineage.get("base") if isinstance(lineage, dict) else None
    if isinstance(base, dict):
        found[f"metadata.{TUNE_LINEAGE_KEY}.base.sha256"] = base.get("sha256")
    return {where: str(value) for where, value in found.items() if value}


def read_adapter_meta(path: Path) -> AdapterMeta:
    """Raises ``ValueError`` (or ``OSError``) when the file is not a readable GGUF."""
    return adapter_meta(gguf.GGUFReader(path))
