"""Concurrent identical prompts: prefill once, copy the KV to the others.

When several requests with the same prompt arrive together, prefilling each of them costs the
same tokens over and over: on a 2-core CPU, seven copies of a 40-token chat prompt are ~2 s of
prefill in the step that admits them.  Instead, a newcomer whose prompt (all of it, or all but
its last token) is already known to a running sequence of the same LoRA adapter (the *leader*)
becomes a *follower*: it sits out of the steps (``BatchEngine._plan`` skips it) until the
leader's cells cover the shared tokens, then llama.cpp copies them into the follower's slot
(``llama_memory_seq_cp``).  A *twin* (the leader's whole prompt, arriving before the leader
sampled) copies all of it and samples its first token from the leader's logits row in the
leader's step; any other follower decodes its last prompt token itself, exactly as a request
served from the prefix cache does.  The copied tokens are reported as ``cached_tokens``.

With per-sequence KV streams (``kv_unified: false``) llama.cpp copies across streams by copying
the leader's whole stream buffer (``p0``/``p1`` must span the whole sequence; the copy runs at
the start of the next ``llama_decode``, before that step writes a cell), so the follower's
cells sit at the same indices, with the same bits, as the leader's; the tokens past the shared
prefix are then dropped from the copy (``llama_memory_seq_rm``).  With a unified pool the copy
only tags the leader's cells with the follower's sequence id.

A leader that leaves before its cells cover the shared tokens (cancelled, finished, preempted)
hands over what it has; the follower prefills the rest itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

import llama_cpp as L

MIN_SHARED = 8  # shared tokens worth a copy (one copy moves a whole KV stream, ~10 ms here)


class Shareable(Protocol):
    """What this module reads and writes on a ``batched.Sequence``."""

    adapter: str | None
    cancelled: bool
    slot: int
    kv: list[int]
    pending: list[int]
    leader: Any
    share: int


S = TypeVar("S", bound=Shareable)


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def find_leader(
    tokens: list[int], adapter: str | None, running: Iterable[S], n_reuse: int
) -> tuple[S | None, int]:
    """A running sequence (same adapter, not cancelled, not itself a follower) whose known
    tokens hold all of ``tokens`` but the last, and the tokens to copy: all of them when they are
    exactly the leader's prompt and it has not sampled yet (a *twin*, which samples from the
    leader's logits row), else ``len(tokens) - 1`` (the follower decodes its last prompt token
    for its own logits, as a request served from the prefix cache does).  (None, 0) when there
    is none or the copy saves fewer than ``MIN_SHARED`` tokens over the slot's ``n_reuse``.

    A longer remainder (prompts that share only a system prompt) is not copied: its prefill,
    mixed into a step with other sequences' tokens, can be split by llama.cpp into micro-batches
    unlike a single-stream run's, and the greedy text can then differ in a near tie."""
    want = len(tokens) - 1
    if want - n_reuse < MIN_SHARED:
        return None, 0
    for seq in running:
        if seq.adapter != adapter or seq.cancelled or seq.leader is not None or seq.slot < 0:
            continue
        known = seq.kv + seq.pending
        if known == tokens:
            return seq, len(tokens)
        if common_prefix(known, tokens) >= want:
            return seq, want
    return None, 0


def ready(follower: Shareable, running: list[Any], leaving: Shareable | None) -> bool:
    """Whether a follower's wait is over: its leader's cells cover the shared prefix, or the
    leader is leaving (or has left) and hands over what it has."""
    leader = follower.leader
    if leader is None:
        return False
    return len(leader.kv) >= follower.share or leader is leaving or leader not in running


def twin(follower: Shareable, leader: Shareable) -> bool:
    """Whether ``follower`` waits for the whole prompt ``leader`` has just finished decoding."""
    whole = len(follower.kv) + len(follower.pending)
    return follower.leader is leader and follower.share == len(leader.kv) == whole


def take_over(mem: Any, follower: Shareable, logits: bool = False) -> int:
    """Copy the leader's cells of the shared prefix into the follower's slot; returns the
    tokens the follower gained over its own cached prefix (0: nothing copied, it keeps its own
    cells and prefills the rest).  Ends the follow either way.  Without ``logits`` (a twin
    sampling from its leader's row) the follower keeps at least one token to decode."""
    leader, want = follower.leader, follower.share
    follower.leader, follower.share = None, 0
    tokens = follower.kv + follower.pending
    have = min(want, len(leader.kv)) if leader is not None and leader.slot >= 0 else 0
    have = min(have, len(tokens) if logits else len(tokens) - 1)
    own = len(follower.kv)
    if have <= own:
        return 0
    L.llama_memory_seq_rm(mem, follower.slot, -1, -1)
    L.llama_memory_seq_cp(mem, leader.slot, follower.slot, -1, -1)  # whole stream (see above)
    L.llama_memory_seq_rm(mem, follower.slot, have, -1)
    follower.kv, follower.pending = tokens[:have], tokens[have:]
    return have - own
