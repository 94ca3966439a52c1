"""LoRA adapters loaded once on the engine's one copy of the base weights.

``llama_adapter_lora_init`` reads an adapter's tensors next to the model (a few MB for a small
rank); ``llama_set_adapters_lora`` makes a set of them active on a context, for every sequence
that context decodes: llama.cpp's adapters are context-wide, so the batch engine decodes the
sequences of one adapter per step (see ``batched``).  Setting the same set again is a no-op in
llama.cpp; a different set makes the next decode rebuild its compute graph.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import llama_cpp as L


class LoraAdapters:
    """The adapters one engine serves, by id; each file is loaded once whatever its scales."""

    def __init__(self, model: Any, adapters: Sequence[tuple[str, float, str]]) -> None:
        """``model``: the ``llama_model`` pointer; ``adapters``: ``(id, scale, path)``."""
        self._handles: dict[str, Any] = {}  # path -> llama_adapter_lora
        self._sets: dict[str, tuple[Any, Any]] = {}  # id -> (adapter array, scale array)
        for ident, scale, path in adapters:
            handle = self._handles.get(path)
            if handle is None:
                handle = L.llama_adapter_lora_init(model, path.encode("utf-8"))
                if not handle:
                    raise RuntimeError(
                        f"llama.cpp could not load the LoRA adapter {path} (adapter {ident!r}); "
                        "see the lines above for its reason (shape or architecture mismatch, not a LoRA)"
                    )
                self._handles[path] = handle
            self._sets[ident] = ((L.llama_adapter_lora_p_ctypes * 1)(handle), (ctypes.c_float * 1)(scale))

    def __contains__(self, ident: object) -> bool:
        return ident in self._sets

    @property
    def ids(self) -> list[str]:
        return list(self._sets)

    def apply(self, ctx: Any, ident: str | None) -> None:
        """Make ``ident`` (None: no adapter, the base model) the context's adapter set."""
        if ident is None:
            rc = L.llama_set_adapters_lora(ctx, None, 0, None)
        else:
            adapters, scales = self._sets[ident]
            rc = L.llama_set_adapters_lora(ctx, adapters, 1, scales)
        if rc != 0:
            raise RuntimeError(f"llama.cpp could not set the LoRA adapter {ident!r} ({rc})")

    def close(self) -> None:
        """Free the adapters (after every context that used them is freed)."""
        for handle in self._handles.values():
            L.llama_adapter_lora_free(handle)
        self._handles.clear()
        self._sets.clear()
