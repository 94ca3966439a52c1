"""Concurrent identical prompts are prefilled once and copied (engines/prefix_share.py): on the
bundled model, at temperature 0 every follower's text equals its single run (cold for twins, warm
for a follower of a generating leader), usage is exact and the copied tokens are reported as
cached; a follower whose leader leaves mid-prefill takes what the leader had and finishes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from lockgate.engines import prefix_share
from lockgate.engines.batched import BatchEngine, Event, Sequence
from lockgate.engines.models import resolve_model_path
from lockgate.engines.sampling import Sampling

pytestmark = pytest.mark.engine

GREEDY = Sampling(temperature=0.0)
SYSTEM = (
    "You are the support assistant of a shipping company. Answer in one short paragraph, name the "
    "team that owns the problem, and never invent tracking numbers or delivery dates."
)


@pytest.fixture(scope="module")
def llm() -> Iterator[Any]:
    from llama_cpp import Llama

    model = Llama(
        model_path=str(resolve_model_path("bundled:smollm2")), n_ctx=512, n_threads=2, verbose=False
    )
    yield model
    model.close()


def _tokens(llm: Any, question: str) -> list[int]:
    text = f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
    return list(llm.tokenize(text.encode(), add_bos=False, special=True))


@dataclass
class Run:
    """One submitted sequence's events: its text, finish reason and usage."""

    parts: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    reason: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    seq: Sequence | None = None

    def emit(self, event: Event) -> None:
        if event[0] == "text":
            self.parts.append(event[1])
        elif event[0] == "done":
            self.reason, self.usage = event[1], event[2]
            self.done.set()
        else:
            self.reason = f"error: {event[1]}"
            self.done.set()

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def wait(self) -> Run:
        assert self.done.wait(120), "the sequence never finished"
        assert not self.reason.startswith("error"), self.reason
        return self


def _engine(llm: Any, **kw: Any) -> BatchEngine:
    return BatchEngine(llm, context=512, parallel=4, threads=2, **kw)


def _together(engine: BatchEngine, prompts: list[list[int]], max_tokens: int = 24) -> list[Run]:
    """Submit all at once (holding the scheduler's lock, so they are admitted in one go, the
    first one first) and wait for all."""
    runs = [Run() for _ in prompts]
    with engine.cv:
        for run, prompt in zip(runs, prompts, strict=True):
            run.seq = engine.submit(prompt, max_tokens, ["<|im_end|>"], GREEDY, run.emit)
    return [r.wait() for r in runs]


def _cold(llm: Any, prompt: list[int], max_tokens: int = 24) -> Run:
    """The prompt alone on a fresh engine with no prefix cache: the reference text."""
    engine = _engine(llm, prefix_cache=False)
    try:
        return _together(engine, [prompt], max_tokens)[0]
    finally:
        engine.close()


def _check_usage(run: Run, prompt: list[int], cached: int) -> None:
    usage = run.usage
    assert usage["prompt_tokens"] == len(prompt)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert 0 < usage["completion_tokens"] <= 24
    assert usage["prompt_tokens_details"]["cached_tokens"] == cached


@pytest.mark.parametrize("unified", [False, True], ids=["per-sequence-kv", "unified-kv"])
def test_identical_prompts_are_prefilled_once_and_equal_their_single_run(llm: Any, unified: bool) -> None:
    prompt = _tokens(llm, "A parcel for Lyon has been stuck at customs for a week. What should I do?")
    single = _cold(llm, prompt)
    engine = _engine(llm, unified=unified)
    try:
        runs = _together(engine, [prompt] * 4)
        snap = engine.snapshot()
    finally:
        engine.close()
    assert single.text.strip()
    for i, run in enumerate(runs):
        if not unified:  # a unified pool gives no bit-exact guarantee (docs/engine.md, KV cache)
            assert run.text == single.text and run.reason == single.reason
            assert run.usage["completion_tokens"] == single.usage["completion_tokens"]
        # the first is prefilled; the others copy all of it and sample from its logits
        _check_usage(run, prompt, 0 if i == 0 else len(prompt))
    assert snap["cached_prompt_tokens_total"] == 3 * len(prompt)
    assert snap["active_sequences"] == 0 and snap["queue_depth"] == 0


def test_a_newcomer_copies_a_generating_leaders_prompt_and_decodes_its_last_token(llm: Any) -> None:
    prompt = _tokens(llm, "Which team owns a parcel that was returned to the sender by mistake?")
    warm = _engine(llm)  # the reference: the prompt again on a warm engine (prefix cache)
    try:
        _together(warm, [prompt])
        again = _together(warm, [prompt])[0]
    finally:
        warm.close()
    assert again.usage["prompt_tokens_details"]["cached_tokens"] == len(prompt) - 1
    engine = _engine(llm)
    leader, follower = Run(), Run()

    def on_leader(event: Event) -> None:  # its first text: it is generating, the prompt is decoded
        if event[0] == "text" and follower.seq is None:
            follower.seq = engine.submit(prompt, 24, ["<|im_end|>"], GREEDY, follower.emit)
        leader.emit(event)

    try:
        leader.seq = engine.submit(prompt, 24, ["<|im_end|>"], GREEDY, on_leader)
        leader.wait()
        follower.wait()
    finally:
        engine.close()
    assert follower.text == again.text
    _check_usage(follower, prompt, len(prompt) - 1)
    _check_usage(leader, prompt, 0)


def test_prompts_sharing_only_a_system_prompt_are_prefilled_each(llm: Any) -> None:
    questions = ["Where is my parcel to Gdansk?", "Who pays the customs fee on a return?"]
    prompts = [_tokens(llm, q) for q in questions]
    assert prefix_share.common_prefix(prompts[0], prompts[1]) >= prefix_share.MIN_SHARED
    singles = [_cold(llm, p) for p in prompts]
    engine = _engine(llm)
    try:
        runs = _together(engine, prompts)
    finally:
        engine.close()
    assert [r.text for r in runs] == [s.text for s in singles]
    for run, prompt in zip(runs, prompts, strict=True):
        _check_usage(run, prompt, 0)


class CancelLeader(BatchEngine):
    """Cancels ``leader`` after ``after`` decode steps (deterministic: between two steps)."""

    leader: Sequence | None = None
    after = 2
    steps = 0

    def _step(self) -> None:
        super()._step()
        self.steps += 1
        if self.steps == self.after and self.leader is not None:
            self.cancel(self.leader)


def test_a_follower_whose_leader_leaves_mid_prefill_takes_what_it_had_and_finishes(llm: Any) -> None:
    prompt = _tokens(llm, "List the documents a customs broker needs for a pallet of bearings.")
    # the reference: alone and cold, prefilled in the same 16-token chunks
    cold = BatchEngine(llm, context=512, parallel=4, threads=2, prefill_chunk=16, prefix_cache=False)
    try:
        single = _together(cold, [prompt])[0]
    finally:
        cold.close()
    # 16 prompt tokens a step: the leader is still prefilling when it is cancelled after 2 steps
    engine = CancelLeader(llm, context=512, parallel=4, threads=2, prefill_chunk=16)
    leader, follower = Run(), Run()
    try:
        with engine.cv:
            engine.leader = engine.submit(prompt, 24, ["<|im_end|>"], GREEDY, leader.emit)
            follower.seq = engine.submit(prompt, 24, ["<|im_end|>"], GREEDY, follower.emit)
        follower.wait()
        snap = engine.snapshot()
    finally:
        engine.close()
    assert not leader.done.is_set()  # cancelled: it never finished
    assert follower.text == single.text
    _check_usage(follower, prompt, 32)  # the two chunks the leader had prefilled
    assert snap["active_sequences"] == 0 and snap["requests_total"] == 2


@dataclass
class Fake:
    kv: list[int]
    pending: list[int]
    adapter: str | None = None
    cancelled: bool = False
    slot: int = 0
    leader: Any = None
    share: int = 0


def test_a_leader_is_chosen_only_when_it_knows_the_prompt_and_saves_enough() -> None:
    running = [Fake(list(range(20)), list(range(20, 30)), slot=0)]
    leader, n = prefix_share.find_leader(list(range(30)), None, running, n_reuse=0)
    assert leader is running[0] and n == 30  # its whole prompt, not sampled yet: a twin
    # known to the leader but the last token (prefilled or still pending): all but that one
    assert prefix_share.find_leader([*range(30), 99], None, running, 0) == (running[0], 30)
    assert prefix_share.find_leader(list(range(25)), None, running, 0) == (running[0], 24)
    # only a shared system prompt: its remainder is not copied
    assert prefix_share.find_leader([*range(20), 98, 99], None, running, 0) == (None, 0)
    limit = 30 - prefix_share.MIN_SHARED + 1  # the slot's own cache already holds nearly as much
    assert prefix_share.find_leader(list(range(30)), None, running, n_reuse=limit) == (None, 0)
    assert prefix_share.find_leader(list(range(30)), "support", running, 0) == (None, 0)  # another adapter
    running[0].leader = object()  # a follower is nobody's leader
    assert prefix_share.find_leader(list(range(30)), None, running, 0) == (None, 0)
    running[0].leader, running[0].cancelled = None, True
    assert prefix_share.find_leader(list(range(30)), None, running, 0) == (None, 0)


def test_a_follower_is_ready_when_its_leader_covers_the_share_or_leaves() -> None:
    leader = Fake(list(range(10)), list(range(10, 30)))
    follower = Fake([], list(range(30)), slot=1, leader=leader, share=20)
    assert not prefix_share.ready(follower, [leader, follower], None)
    assert prefix_share.ready(follower, [leader, follower], leader)  # leaving: hands over
    assert prefix_share.ready(follower, [follower], None)  # gone
    leader.kv = list(range(20))
    assert prefix_share.ready(follower, [leader, follower], None)
    assert not prefix_share.ready(Fake([], [1]), [leader], None)  # follows nobody


def test_only_a_follower_of_the_whole_prompt_samples_from_its_leaders_logits() -> None:
    leader = Fake(list(range(30)), [])  # its prompt, all decoded this step
    twin = Fake([], list(range(30)), slot=1, leader=leader, share=30)
    longer = Fake([], list(range(40)), slot=2, leader=leader, share=30)  # needs its own logits
    assert prefix_share.twin(twin, leader)
    assert not prefix_share.twin(longer, leader)
    assert not prefix_share.twin(twin, Fake(list(range(30)), []))  # not its leader
