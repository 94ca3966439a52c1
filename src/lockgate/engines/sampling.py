"""A request's sampling settings as one native ``llama_sampler`` chain (sampling stays in C)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import llama_cpp as L

PENALTY_LAST_N = 64  # what the high-level Llama uses (last_n_tokens_size)


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    typical_p: float = 1.0
    seed: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repeat_penalty: float = 1.0


def make_sampler(vocab: Any, s: Sampling) -> Any:
    """Penalties, top-k, typical, top-p, min-p, temperature and a seeded ``dist`` (random seed
    when none is given), as the high-level ``Llama`` chains them; greedy at temperature 0."""
    chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
    add = L.llama_sampler_chain_add
    if s.repeat_penalty != 1.0 or s.frequency_penalty != 0.0 or s.presence_penalty != 0.0:
        n_vocab = L.llama_vocab_n_tokens(vocab)
        add(chain, L.llama_sampler_init_penalties(
            n_vocab, PENALTY_LAST_N, s.repeat_penalty, s.frequency_penalty, s.presence_penalty))  # fmt: skip
    seed = s.seed if s.seed is not None else random.getrandbits(32)
    if s.temperature < 0.0:
        add(chain, L.llama_sampler_init_dist(seed & 0xFFFFFFFF))
    elif s.temperature == 0.0:
        add(chain, L.llama_sampler_init_greedy())
    else:
        add(chain, L.llama_sampler_init_top_k(s.top_k))
        if s.typical_p < 1.0:
            add(chain, L.llama_sampler_init_typical(s.typical_p, 1))
        add(chain, L.llama_sampler_init_top_p(s.top_p, 1))
        add(chain, L.llama_sampler_init_min_p(s.min_p, 1))
        add(chain, L.llama_sampler_init_temp(s.temperature))
        add(chain, L.llama_sampler_init_dist(seed & 0xFFFFFFFF))
    return chain
