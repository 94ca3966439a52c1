"""Read what an auditor asks about a model from its own files, per format.

GGUF metadata comes from ``gguf.GGUFReader``; safetensors files and Hugging Face folders
from ``config.json``/``tokenizer_config.json`` and the safetensors headers.  Each format has
one reader in ``READERS``; unknown formats yield empty metadata.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gguf

from lockgate.registry.adapter_meta import adapter_meta

MAX_HEADER = 100 * 1024 * 1024


@dataclass(frozen=True)
class ModelMeta:
    name: str | None = None
    basename: str | None = None
    size_label: str | None = None
    finetune: str | None = None
    organization: str | None = None
    licence_tag: str | None = None
    architecture: str | None = None
    parameter_count: int | None = None
    quantization: str | None = None
    context_length: int | None = None
    chat_template: str | None = None
    base_models: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> list[str]:
        """The strings that name this model, most specific first (for licence matching)."""
        parts = [self.name, self.basename, self.finetune, self.size_label]
        return [p for p in parts if p]


def _gguf_value(reader: gguf.GGUFReader, key: str) -> Any:
    fld = reader.get_field(key)
    return None if fld is None else fld.contents()


def _gguf_str(reader: gguf.GGUFReader, key: str) -> str | None:
    value = _gguf_value(reader, key)
    return str(value) if value is not None else None


def _gguf_base_models(reader: gguf.GGUFReader) -> tuple[str, ...]:
    count = _gguf_value(reader, "general.base_model.count") or 0
    names: list[str] = []
    for i in range(int(count)):
        org = _gguf_str(reader, f"general.base_model.{i}.organization")
        name = _gguf_str(reader, f"general.base_model.{i}.name")
        repo = _gguf_str(reader, f"general.base_model.{i}.repo_url")
        label = "/".join(p for p in (org, name) if p) or repo
        if label:
            names.append(label)
    return tuple(names)


def _quantization(file_type: Any) -> str | None:
    if file_type is None:
        return None
    try:
        return gguf.LlamaFileType(int(file_type)).name.removeprefix("MOSTLY_")
    except ValueError:
        return f"file_type={int(file_type)}"


def read_gguf(path: Path) -> ModelMeta:
    reader = gguf.GGUFReader(path)
    arch = _gguf_str(reader, "general.architecture")
    ctx = _gguf_value(reader, f"{arch}.context_length") if arch else None
    return ModelMeta(
        name=_gguf_str(reader, "general.name"),
        basename=_gguf_str(reader, "general.basename"),
        size_label=_gguf_str(reader, "general.size_label"),
        finetune=_gguf_str(reader, "general.finetune"),
        organization=_gguf_str(reader, "general.organization"),
        licence_tag=_gguf_str(reader, "general.license"),
        architecture=arch,
        parameter_count=sum(int(t.n_elements) for t in reader.tensors),
        quantization=_quantization(_gguf_value(reader, "general.file_type")),
        context_length=int(ctx) if ctx is not None else None,
        chat_template=_gguf_str(reader, "tokenizer.chat_template"),
        base_models=_gguf_base_models(reader),
        extra=adapter_meta(reader).lineage(),  # an adapter's type and base model hash
    )


def safetensors_parameters(path: Path) -> int | None:
    """Sum of tensor element counts from a safetensors header (None when unreadable)."""
    with path.open("rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            return None
        (length,) = struct.unpack("<Q", raw)
        if length > MAX_HEADER:
            return None
        try:
            header = json.loads(fh.read(length))
        except ValueError:
            return None
    if not isinstance(header, dict):
        return None
    shapes = [v.get("shape", []) for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)]
    return sum(math.prod(int(d) for d in shape) for shape in shapes)


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _folder_meta(folder: Path, weights: list[Path]) -> ModelMeta:
    config = _load_json(folder / "config.json")
    tok = _load_json(folder / "tokenizer_config.json")
    archs = config.get("architectures") or []
    counts = [safetensors_parameters(w) for w in weights]
    template = tok.get("chat_template")
    base = config.get("_name_or_path")
    return ModelMeta(
        name=folder.name,
        architecture=config.get("model_type") or (archs[0] if archs else None),
        parameter_count=sum(c for c in counts if c is not None) if counts else None,
        quantization=config.get("torch_dtype"),
        context_length=config.get("max_position_embeddings"),
        chat_template=template if isinstance(template, str) else None,
        base_models=(str(base),) if base else (),
        extra={"architectures": archs} if archs else {},
    )


def read_hf_folder(path: Path) -> ModelMeta:
    return _folder_meta(path, sorted(path.glob("*.safetensors")))


def read_safetensors(path: Path) -> ModelMeta:
    meta = _folder_meta(path.parent, [path])
    return ModelMeta(**{**meta.__dict__, "name": path.stem})


def read_nothing(path: Path) -> ModelMeta:
    return ModelMeta(name=path.stem if path.is_file() else path.name)


READERS: dict[str, Callable[[Path], ModelMeta]] = {
    "gguf": read_gguf,
    "safetensors": read_safetensors,
    "hf-folder": read_hf_folder,
}


def read_meta(path: Path, fmt: str) -> ModelMeta:
    """Metadata for the format; a file its reader cannot parse still registers (the scan flags it)."""
    try:
        return READERS.get(fmt, read_nothing)(path)
    except (ValueError, OSError, KeyError, IndexError, struct.error) as exc:
        return replace(read_nothing(path), extra={"metadata_error": f"{type(exc).__name__}: {exc}"[:500]})
