"""Tiny GGUF LoRA adapters for the bundled SmolLM2, generated with the ``gguf`` library.

The shapes come from the base file itself (``gguf.GGUFReader``): for a base tensor whose
GGUF shape is ``[n_in, n_out]`` the adapter holds ``<name>.lora_a`` as ``[n_in, rank]`` and
``<name>.lora_b`` as ``[rank, n_out]`` (numpy arrays of shape ``(rank, n_in)`` and
``(n_out, rank)``, as llama.cpp's ``convert_lora_to_gguf.py`` writes them), in F32 with seeded
random values large enough to change the model's greedy output.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gguf
import numpy as np

BASE_SHA256_KEY = "lockgate.base.sha256"


def write_lora(
    base: Path,
    out: Path,
    *,
    rank: int = 4,
    alpha: float = 8.0,
    std: float = 0.08,
    seed: int = 0,
    targets: Sequence[str] = ("attn_q", "attn_v", "ffn_up"),
    base_sha256: str | None = None,
    general_type: str = "adapter",
    adapter_type: str = "lora",
    arch: str | None = None,
) -> Path:
    """Write a LoRA adapter for every ``blk.N.<target>.weight`` of ``base``."""
    reader = gguf.GGUFReader(base)
    base_arch = reader.get_field("general.architecture")
    assert base_arch is not None
    rng = np.random.default_rng(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(out), arch=arch or str(base_arch.contents()))
    writer.add_type(general_type)
    writer.add_string("adapter.type", adapter_type)
    writer.add_float32("adapter.lora.alpha", alpha)
    writer.add_name(f"{out.stem} (test LoRA)")
    if base_sha256 is not None:
        writer.add_string(BASE_SHA256_KEY, base_sha256)
    wanted = tuple(f".{t}.weight" for t in targets)
    for tensor in reader.tensors:
        if not (tensor.name.startswith("blk.") and tensor.name.endswith(wanted)):
            continue
        n_in, n_out = (int(d) for d in tensor.shape[:2])
        a = rng.normal(0.0, std, size=(rank, n_in)).astype(np.float32)
        b = rng.normal(0.0, std, size=(n_out, rank)).astype(np.float32)
        writer.add_tensor(tensor.name + ".lora_a", a)
        writer.add_tensor(tensor.name + ".lora_b", b)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
