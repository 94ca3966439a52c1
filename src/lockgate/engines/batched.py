"""Continuous batching over llama.cpp's low-level API: many sequences, one context, one loop.

One scheduler thread owns a llama.cpp context created on the weights the high-level
``llama_cpp.Llama`` already loaded (one copy of the weights).  Each step is one
``llama_decode`` that carries one token for every sequence that is generating plus chunks
of prompt for newcomers (chunked prefill), so a new request joins the running batch at the
next step instead of waiting for other people's answers.

Every sequence has its own native ``llama_sampler`` chain (penalties, top-k, typical, top-p,
min-p, temperature and a seeded ``dist``; greedy at temperature 0), so sampling never leaves C.

A request is admitted when a sequence slot (and, with a unified KV cache, room for its
prompt) is free; otherwise it waits in a FIFO queue (``queue_depth``).  With a unified cache,
when a running sequence needs a cell and none is left, the least recently used cached prefix
is dropped first, then the youngest running sequence is preempted: its cells are freed and it
goes back to the head of the queue with every token it has so far, to be recomputed later.  A
full KV cache therefore slows requests down; it never fails them.

Prefix reuse: when a sequence ends, its cells stay in its slot.  A later request takes the free
slot whose cached tokens share the longest prefix with its own, drops the rest
(``llama_memory_seq_rm``) and only prefills what is new; this is what makes a chat's follow-up
turn cheap.  Without a match a request takes the lowest free slot (contiguous slots decode as
one micro-batch); prefixes dropped for KV space (unified cache) go least recently used first.
Identical prompts arriving together are prefilled once and copied (``prefix_share``).

LoRA adapters (``lora``): a sequence may name one of the engine's adapters.  llama.cpp applies
adapters to the whole context, so each step decodes the sequences of one adapter (or of the
base model) only; when several are active, they take turns of ``adapter_quantum`` steps,
round-robin (``_next_group``).  A cached prefix belongs to the adapter it was computed with and is reused
only by requests for that adapter.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import llama_cpp as L

from lockgate.engines import prefix_share
from lockgate.engines.lora import LoraAdapters
from lockgate.engines.sampling import Sampling, make_sampler

log = logging.getLogger("lockgate.engines.batched")


class ContextOverflow(ValueError):
    """The prompt does not fit the per-request context (the message names the context)."""


# decode steps one adapter group keeps the context while another waits: changing the adapter
# set makes llama.cpp rebuild the step's graph (measured, docs/engine.md "LoRA adapters")
ADAPTER_QUANTUM = 4

# An event for the request's consumer: ("text", str) | ("done", finish_reason, usage) | ("error", exc)
Event = tuple[Any, ...]


@dataclass(eq=False)
class Sequence:
    prompt: list[int]
    max_tokens: int
    stop: list[str]
    sampling: Sampling
    emit: Callable[[Event], None]
    adapter: str | None = None  # the LoRA adapter it runs with (None: the base model)
    cancelled: bool = False
    slot: int = -1
    kv: list[int] = field(default_factory=list)  # tokens whose cells this slot holds, in position order
    pending: list[int] = field(default_factory=list)  # tokens still to decode; logits after the last
    completion: list[int] = field(default_factory=list)
    cached_tokens: int = 0
    leader: Sequence | None = None  # a running sequence whose prefill this one waits to copy
    share: int = 0  # prompt tokens it will copy from the leader (prefix_share)
    started: bool = False  # admitted once (a preempted sequence does not count cached tokens again)
    enqueued: float = 0.0
    first_token_at: float | None = None
    emitted: int = 0  # characters of ``text`` sent
    text: str = ""
    sampler: Any = None
    decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace"))

    def usage(self) -> dict[str, Any]:
        n_prompt, n_completion = len(self.prompt), len(self.completion)
        return {
            "prompt_tokens": n_prompt,
            "completion_tokens": n_completion,
            "total_tokens": n_prompt + n_completion,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
        }


def next_group(
    adapters: Iterable[str | None], last: str | None, steps: int = 1, quantum: int = 1
) -> str | None:
    """The adapter whose sequences a step decodes (None: the base model): ``last`` again while it
    has decoded fewer than ``quantum`` steps in a row and still has sequences, else the next one
    after it among the active sequences' adapters, in name order with the base model first."""
    present = sorted({a or "" for a in adapters})
    if not present:
        return None
    if steps < quantum and (last or "") in present:
        return last
    later = [a for a in present if a > (last or "")]
    return (later[0] if later else present[0]) or None


@dataclass(eq=False)
class Slot:
    """A llama.cpp sequence id.  A free slot keeps the cells of its last sequence as a cached
    prefix until it is reused or evicted."""

    id: int
    tokens: list[int] = field(default_factory=list)
    used_at: float = 0.0
    adapter: str | None = None  # the adapter its cached cells were computed with


class BatchEngine:
    """The scheduler.  ``submit`` and ``cancel`` are thread-safe; the rest runs on the loop thread.

    With ``unified=False`` (the default) every slot has its own KV stream of ``context`` cells:
    a sequence's attention only ever sees its own cells, laid out as in a single-stream run, so
    a request's numbers (and its greedy text) do not depend on what else shares the batch.
    With ``unified=True`` the slots share ``kv_size`` cells: more sequences fit in less memory,
    at the price of results that can differ in the last bits with the batch's composition.
    """

    def __init__(
        self,
        llm: Any,
        *,
        context: int,
        parallel: int,
        threads: int | None,
        unified: bool = False,
        kv_size: int | None = None,
        prefill_chunk: int = 256,
        prefix_cache: bool = True,
        flash_attn: int = L.LLAMA_FLASH_ATTN_TYPE_AUTO,
        lora: LoraAdapters | None = None,
        adapter_quantum: int = ADAPTER_QUANTUM,
    ) -> None:
        self.llm = llm
        self.lora = lora
        self.adapter_quantum = max(1, adapter_quantum)
        self._applied: str | None = None  # the context's adapter set now
        self._turn: str | None = None  # the adapter group the last step decoded
        self._turn_steps = 0  # steps it has decoded in a row
        self.vocab = llm._model.vocab
        self.context = context
        self.parallel = parallel
        self.unified = unified
        self.kv_size = max(kv_size or context * parallel, context) if unified else context * parallel
        self.prefill_chunk = max(16, prefill_chunk)
        self.prefix_cache = prefix_cache
        self.n_batch = max(512, self.prefill_chunk + parallel)
        params = L.llama_context_default_params()
        params.n_ctx = self.kv_size
        params.n_batch = self.n_batch
        params.n_ubatch = self.n_batch
        params.n_seq_max = parallel
        params.kv_unified = unified
        # llama.cpp's auto: flash attention on this CPU, ~10% faster decode; greedy texts stay equal
        # to single runs with per-sequence KV (tested), not with a unified pool (docs/engine.md)
        params.flash_attn_type = flash_attn
        params.no_perf = True
        # llama.cpp's default (4) oversubscribes small machines, and a thread that loses its core
        # stalls every barrier of the graph: without a setting, half the cores as Llama does
        params.n_threads = params.n_threads_batch = threads or max(1, (os.cpu_count() or 2) // 2)
        self.ctx = L.llama_init_from_model(llm._model.model, params)
        if not self.ctx:
            raise RuntimeError("llama.cpp could not create the batching context")
        self.mem = L.llama_get_memory(self.ctx)
        self.batch = L.llama_batch_init(self.n_batch, 0, 1)
        self._piece = ctypes.create_string_buffer(256)
        self.free_slots: list[Slot] = [Slot(i) for i in range(parallel)]
        self.waiting: deque[Sequence] = deque()
        self.active: list[Sequence] = []
        self.cv = threading.Condition()
        self._closed = False
        # measured capacity
        self.stats_lock = threading.Lock()
        self.prompt_tokens_total = 0
        self.completion_tokens_total = 0
        self.cached_tokens_total = 0
        self.requests_total = 0
        self.preemptions_total = 0
        self.adapter_switches_total = 0
        self._recent: deque[tuple[float, int, int]] = deque(maxlen=512)  # (t, generated, batch size)
        self._thread = threading.Thread(target=self._run, name="lockgate-batch", daemon=True)
        self._thread.start()

    # ---- public, any thread -------------------------------------------------------------

    def submit(
        self, prompt: list[int], max_tokens: int | None, stop: list[str], sampling: Sampling,
        emit: Callable[[Event], None], adapter: str | None = None,
    ) -> Sequence:  # fmt: skip
        """Queue one generation; raises ``ContextOverflow`` at once when the prompt cannot fit."""
        if not prompt:
            raise ValueError("the prompt is empty")
        if adapter is not None and (self.lora is None or adapter not in self.lora):
            raise ValueError(f"this engine serves no adapter {adapter!r}")
        if len(prompt) >= self.context:
            raise ContextOverflow(f"Requested tokens ({len(prompt)}) exceed context window of {self.context}")
        room = self.context - len(prompt)
        limit = room if max_tokens is None or max_tokens <= 0 else min(max_tokens, room)
        seq = Sequence(list(prompt), limit, [s for s in stop if s], sampling, emit, adapter)
        seq.pending = list(prompt)
        seq.enqueued = time.monotonic()
        with self.cv:
            if self._closed:
                raise RuntimeError("the engine is shutting down")
            self.waiting.append(seq)
            self.cv.notify()
        return seq

    def cancel(self, seq: Sequence) -> None:
        """The client left: the loop frees the sequence at its next step."""
        with self.cv:
            seq.cancelled = True
            self.cv.notify()

    def close(self) -> None:
        with self.cv:
            self._closed = True
            self.cv.notify()
        self._thread.join(timeout=30)
        L.llama_batch_free(self.batch)
        L.llama_free(self.ctx)

    def snapshot(self) -> dict[str, Any]:
        """Queue depth, KV use and the measured generation rate at the current batch size."""
        now = time.monotonic()
        with self.stats_lock:
            recent = [(t, n, b) for t, n, b in self._recent if now - t <= 10.0]
            out: dict[str, Any] = {
                "requests_total": self.requests_total,
                "prompt_tokens_total": self.prompt_tokens_total,
                "completion_tokens_total": self.completion_tokens_total,
                "cached_prompt_tokens_total": self.cached_tokens_total,
                "preemptions_total": self.preemptions_total,
                "adapter_switches_total": self.adapter_switches_total,
            }
        with self.cv:
            out.update(
                queue_depth=len(self.waiting),
                active_sequences=len(self.active),
                parallel=self.parallel,
                kv_cells_used=sum(len(s.kv) for s in self.active),
                kv_cells_cached=sum(len(s.tokens) for s in self.free_slots),
                kv_cells_total=self.kv_size,
            )
        if len(recent) >= 2:
            span = max(recent[-1][0] - recent[0][0], 1e-6)
            out["tokens_per_second"] = round(sum(n for _, n, _ in recent[1:]) / span, 2)
            out["batch_size"] = round(sum(b for _, _, b in recent) / len(recent), 2)
        else:
            out["tokens_per_second"] = 0.0
            out["batch_size"] = 0.0
        return out

    # ---- loop thread --------------------------------------------------------------------

    def _used_cells(self) -> int:
        return sum(len(s.kv) for s in self.active) + sum(len(s.tokens) for s in self.free_slots)

    def _run(self) -> None:
        while True:
            with self.cv:
                while not self._closed and not self.waiting and not self.active:
                    self.cv.wait()
                if self._closed:
                    for seq in [*self.active, *self.waiting]:
                        seq.emit(("error", RuntimeError("the engine is shutting down")))
                    return
                self._reap_cancelled()
                self._admit()
            try:
                self._step()
            except Exception as exc:  # a failed decode fails the running sequences, not the engine
                log.exception("batch step failed")
                with self.cv:
                    for seq in list(self.active):
                        self._release(seq, keep=False)
                        seq.emit(("error", exc))

    def _reap_cancelled(self) -> None:
        for seq in [s for s in self.waiting if s.cancelled]:
            self.waiting.remove(seq)
            self._free_sampler(seq)
        for seq in [s for s in self.active if s.cancelled]:
            self._release(seq, keep=True)

    def _pick_slot(self, tokens: list[int], adapter: str | None) -> tuple[Slot, int]:
        """The free slot whose cached prefix, computed with the same adapter, is longest (at
        least one token is left to decode, for its logits), else the lowest free one that holds
        no other adapter's prefix."""
        best: Slot | None = None
        n_reuse = 0
        if self.prefix_cache:
            for slot in self.free_slots:
                if slot.adapter != adapter:
                    continue
                n = min(prefix_share.common_prefix(slot.tokens, tokens), len(tokens) - 1)
                if n > n_reuse:
                    best, n_reuse = slot, n
        if best is None:  # the lowest id keeps running slots contiguous (see _plan); another
            # adapter's cached prefix goes only when no slot is empty or of this adapter: then
            # the least recently used
            own = [s for s in self.free_slots if not s.tokens or s.adapter == adapter]
            best = min(own, key=lambda s: s.id) if own else min(self.free_slots, key=lambda s: s.used_at)
        return best, n_reuse

    def _admit(self) -> None:
        while self.waiting and self.free_slots:
            seq = self.waiting[0]
            tokens = seq.kv + seq.pending  # a preempted sequence recomputes everything it had
            slot, n_reuse = self._pick_slot(tokens, seq.adapter)
            if self.unified:
                need = len(tokens) - n_reuse + len(self.active) + 1
                while self._used_cells() + need > self.kv_size and self._evict_cached(keep=slot):
                    pass
                if self._used_cells() + need > self.kv_size and self.active:
                    return  # wait until running sequences finish
            self.waiting.popleft()
            self.free_slots.remove(slot)
            L.llama_memory_seq_rm(self.mem, slot.id, n_reuse, -1)
            slot.tokens = []
            slot.adapter = seq.adapter
            seq.slot = slot.id
            seq.kv, seq.pending = tokens[:n_reuse], tokens[n_reuse:]
            if not seq.started:
                if self.prefix_cache:  # a running prompt shares more of its prefix: copy its cells
                    seq.leader, seq.share = prefix_share.find_leader(
                        tokens, seq.adapter, self.active, n_reuse
                    )
                seq.started = True
                seq.cached_tokens = n_reuse
                seq.sampler = make_sampler(self.vocab, seq.sampling)
                with self.stats_lock:
                    self.requests_total += 1
                    self.prompt_tokens_total += len(seq.prompt)
                    self.cached_tokens_total += n_reuse
            self.active.append(seq)

    def _evict_cached(self, keep: Slot | None = None) -> bool:
        """Drop the least recently used cached prefix (unified KV only needs this)."""
        candidates = [s for s in self.free_slots if s.tokens and s is not keep]
        if not candidates:
            return False
        slot = min(candidates, key=lambda s: s.used_at)
        L.llama_memory_seq_rm(self.mem, slot.id, -1, -1)
        slot.tokens = []
        return True

    def _preempt_youngest(self) -> bool:
        if len(self.active) <= 1:
            return False
        seq = self.active.pop()
        self._settle_followers(leaving=seq)
        seq.leader, seq.share = None, 0
        L.llama_memory_seq_rm(self.mem, seq.slot, -1, -1)
        self.free_slots.append(Slot(seq.slot, [], time.monotonic()))
        seq.slot = -1
        seq.pending = seq.kv + seq.pending
        seq.kv = []
        self.waiting.appendleft(seq)
        with self.stats_lock:
            self.preemptions_total += 1
        return True

    def _make_room(self, need: int) -> None:
        if not self.unified:
            return  # every slot owns ``context`` cells and no sequence outgrows them
        while self._used_cells() + need > self.kv_size:
            if not (self._evict_cached() or self._preempt_youngest()):
                return

    def _release(self, seq: Sequence, keep: bool) -> None:
        """Free the sequence's slot; with ``keep`` its cells stay there as a cached prefix."""
        if seq in self.active:
            self._settle_followers(leaving=seq)
            self.active.remove(seq)
        if seq.slot >= 0:
            kept = list(seq.kv) if keep and self.prefix_cache else []
            if not kept:
                L.llama_memory_seq_rm(self.mem, seq.slot, -1, -1)
            self.free_slots.append(Slot(seq.slot, kept, time.monotonic(), seq.adapter))
            seq.slot = -1
        self._free_sampler(seq)

    def _settle_followers(self, leaving: Sequence | None = None) -> None:
        """Copy the shared prefix to every follower whose leader's cells now cover it (or whose
        leader is ``leaving``: it hands over what it has); see ``prefix_share``."""
        for seq in self.active:
            if seq.leader is not None and prefix_share.ready(seq, self.active, leaving):
                self._take_over(seq, logits=False)

    def _take_over(self, seq: Sequence, logits: bool) -> None:
        gained = prefix_share.take_over(self.mem, seq, logits)
        seq.cached_tokens += gained
        with self.stats_lock:
            self.cached_tokens_total += gained

    def _twins(self, outputs: list[tuple[Sequence, int]]) -> list[tuple[Sequence, int]]:
        """Followers whose prompt is their leader's whole prompt, which this step finished: they
        copy all of it and sample from the leader's logits row (the same numbers their own
        prefill would give), so their first token comes in the leader's step."""
        with self.cv:
            twins = [(f, idx) for seq, idx in outputs for f in self.active if prefix_share.twin(f, seq)]
            for f, _ in twins:
                self._take_over(f, logits=True)
        return twins

    def _free_sampler(self, seq: Sequence) -> None:
        if seq.sampler is not None:
            L.llama_sampler_free(seq.sampler)
            seq.sampler = None

    def _next_group(self) -> str | None:
        return next_group(
            (s.adapter for s in self.active), self._turn, self._turn_steps, self.adapter_quantum
        )

    def _plan(self, group: str | None) -> list[tuple[Sequence, int]]:
        plan: list[tuple[Sequence, int]] = []
        budget = self.prefill_chunk
        members = [s for s in self.active if s.adapter == group and s.leader is None]
        # generating sequences first, one token each, in slot order: with per-sequence KV
        # streams llama.cpp puts only runs of consecutive sequence ids in one micro-batch, so
        # any other order would split the step into one graph per sequence
        for seq in sorted(members, key=lambda s: s.slot):
            if len(seq.pending) == 1:
                plan.append((seq, 1))
        for seq in members:  # then prompt chunks, oldest first, within the step's budget
            if len(seq.pending) > 1 and budget > 0:
                take = min(len(seq.pending), budget)
                budget -= take
                plan.append((seq, take))
        return plan

    def _use_adapter(self, group: str | None) -> None:
        if self.lora is None or group == self._applied:
            return
        self.lora.apply(self.ctx, group)
        self._applied = group
        with self.stats_lock:
            self.adapter_switches_total += 1

    def _step(self) -> None:
        with self.cv:
            self._settle_followers()
            group = self._next_group()
            plan = self._plan(group)
            self._make_room(sum(n for _, n in plan))
            plan = [(s, n) for s, n in self._plan(group) if s in self.active]
        if not plan:
            return
        self._turn_steps = self._turn_steps + 1 if group == self._turn else 1
        self._turn = group
        self._use_adapter(group)
        b = self.batch
        i = 0
        outputs: list[tuple[Sequence, int]] = []
        for seq, n in plan:
            base = len(seq.kv)
            last = n == len(seq.pending)
            for j in range(n):
                b.token[i] = seq.pending[j]
                b.pos[i] = base + j
                b.n_seq_id[i] = 1
                b.seq_id[i][0] = seq.slot
                b.logits[i] = 1 if (last and j == n - 1) else 0
                i += 1
            if last:
                outputs.append((seq, i - 1))
        b.n_tokens = i
        rc = L.llama_decode(self.ctx, b)
        if rc != 0:
            if rc == 1:  # no KV slot for this batch: free some and try again next step
                with self.cv:
                    for seq, _ in plan:  # cells of a partly placed batch are not trusted
                        L.llama_memory_seq_rm(self.mem, seq.slot, len(seq.kv), -1)
                    if not (self._evict_cached() or self._preempt_youngest()):
                        raise RuntimeError("llama_decode found no KV space for a single sequence")
                return
            raise RuntimeError(f"llama_decode failed ({rc})")
        for seq, n in plan:
            seq.kv.extend(seq.pending[:n])
            del seq.pending[:n]
        outputs += self._twins(outputs)
        now = time.monotonic()
        generated = 0
        finished: list[tuple[Sequence, str]] = []
        for seq, idx in outputs:
            token = int(L.llama_sampler_sample(seq.sampler, self.ctx, idx))
            generated += 1
            reason = self._accept(seq, token, now)
            if reason is not None:
                finished.append((seq, reason))
            else:
                seq.pending.append(token)
        with self.stats_lock:
            self._recent.append((now, generated, len(plan)))
            self.completion_tokens_total += generated
        if finished:
            with self.cv:
                for seq, reason in finished:
                    self._release(seq, keep=True)
                    seq.emit(("done", reason, seq.usage()))

    def _accept(self, seq: Sequence, token: int, now: float) -> str | None:
        """Record a sampled token, stream its text; returns a finish reason or None."""
        if seq.first_token_at is None:
            seq.first_token_at = now
        if L.llama_vocab_is_eog(self.vocab, token):
            self._flush(seq, final=True)
            return "stop"
        seq.completion.append(token)
        n = L.llama_token_to_piece(self.vocab, token, self._piece, len(self._piece), 0, False)
        piece = self._piece.raw[:n] if n >= 0 else b""
        seq.text += seq.decoder.decode(piece)
        if self._flush(seq, final=False):
            return "stop"
        if len(seq.completion) >= seq.max_tokens:
            self._flush(seq, final=True)
            return "length"
        return None

    def _flush(self, seq: Sequence, final: bool) -> bool:
        """Send what is safe to send; True when a stop string ended the text."""
        if final:
            seq.text += seq.decoder.decode(b"", final=True)
        text = seq.text
        if seq.stop:
            longest = max(len(s) for s in seq.stop)
            start = max(0, seq.emitted - longest)
            hits = [i for i in (text.find(s, start) for s in seq.stop) if i >= 0]
            if hits:
                end = min(hits)
                if end > seq.emitted:
                    seq.emit(("text", text[seq.emitted : end]))
                seq.emitted = end
                seq.text = text[:end]
                return True
            if not final:  # hold back a tail that may be the start of a stop string
                hold = 0
                for s in seq.stop:
                    for k in range(min(len(s) - 1, len(text)), 0, -1):
                        if text.endswith(s[:k]):
                            hold = max(hold, k)
                            break
                end = len(text) - hold
                if end > seq.emitted:
                    seq.emit(("text", text[seq.emitted : end]))
                    seq.emitted = end
                return False
        if len(text) > seq.emitted:
            seq.emit(("text", text[seq.emitted :]))
            seq.emitted = len(text)
        return False


def close_quietly(engine: BatchEngine | None) -> None:
    if engine is not None:
        with contextlib.suppress(Exception):
            engine.close()
