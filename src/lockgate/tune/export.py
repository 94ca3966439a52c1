"""Write a LoRA as a GGUF adapter that llama.cpp loads (``--lora``, ``Llama(lora_path=...)``).

Names follow llama.cpp: the base tensor's GGUF name plus ``.lora_a`` / ``.lora_b``
(``model.layers.3.self_attn.q_proj`` -> ``blk.3.attn_q.weight.lora_a``), mapped with the
``gguf`` library's own tensor-name table.  Shapes stay as peft keeps them (numpy order):
``lora_a`` is (r, in) and ``lora_b`` is (out, r); ggml reverses the order, so
``lora_a.ne[0]`` equals the base tensor's ``ne[0]`` (its input width) and
``lora_a.ne[1] == lora_b.ne[0] == r``, which is what llama.cpp checks when loading.

The GGUF llama conversion permutes the rows of ``attn_q`` / ``attn_k`` for its rotary
layout; transformers undoes that when it dequantizes.  The B matrix of a q or k LoRA maps
onto those rows, so it gets the same permutation here (A maps the input side and keeps its
order).

Metadata: ``general.type=adapter``, ``adapter.type=lora``, ``adapter.lora.alpha``,
``general.architecture``, and ``lockgate.base.sha256`` — the SHA-256 of the base GGUF it was
trained on, which the serving gate compares with the base model's pin.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from lockgate.registry.adapter_meta import BASE_SHA256_KEY
from lockgate.tune.errors import TuneError

_LORA = re.compile(r"^(?:base_model\.model\.)?(model\.layers\.\d+\.\w+\.\w+)\.lora_([AB])(?:\.\w+)?\.weight$")
_PERMUTED = {"q_proj": "num_attention_heads", "k_proj": "num_key_value_heads"}


def permute_rows(b: np.ndarray[Any, Any], n_head: int) -> np.ndarray[Any, Any]:
    """Apply the GGUF llama q/k row order (halves of each head interleaved) to ``b``'s rows."""
    out_dim = b.shape[0]
    if out_dim % (2 * n_head):
        raise TuneError(f"cannot map a LoRA of {out_dim} rows onto {n_head} heads")
    return b.reshape(n_head, 2, out_dim // n_head // 2, *b.shape[1:]).swapaxes(1, 2).reshape(b.shape)


def gguf_tensors(lora: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, np.ndarray[Any, Any]]:
    """peft state-dict entries -> {llama.cpp tensor name: float32 array}."""
    arch = gguf.MODEL_ARCH.LLAMA
    names = gguf.get_tensor_name_map(arch, int(config["num_hidden_layers"]))
    out: dict[str, np.ndarray[Any, Any]] = {}
    for key, tensor in lora.items():
        m = _LORA.match(key)
        if m is None:
            raise TuneError(f"adapter export: unexpected LoRA tensor {key!r} (only block projections)")
        module, part = m.group(1), m.group(2).lower()
        base = names.get_name(module + ".weight", try_suffixes=(".weight",))
        if base is None:
            raise TuneError(f"adapter export: llama.cpp has no tensor for {module!r}")
        array = np.ascontiguousarray(tensor.float().numpy(), dtype=np.float32)
        heads = _PERMUTED.get(module.rsplit(".", 1)[1])
        if part == "b" and heads is not None:
            array = np.ascontiguousarray(permute_rows(array, int(config[heads])))
        out[f"{base}.lora_{part}"] = array
    return out


def write_adapter(
    path: Path,
    lora: Mapping[str, Any],
    config: Mapping[str, Any],
    alpha: float,
    base_sha256: str,
    extra: Mapping[str, str] | None = None,
) -> Path:
    """Write the GGUF adapter (atomically) and return its path."""
    tensors = gguf_tensors(lora, config)
    if not tensors:
        raise TuneError("adapter export: the LoRA has no tensors")
    tmp = path.with_suffix(".tmp")
    writer = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    writer.add_string(BASE_SHA256_KEY, base_sha256)
    for key, value in (extra or {}).items():
        writer.add_string(key, value)
    for name in sorted(tensors):
        writer.add_tensor(name, tensors[name])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(path)
    return path
