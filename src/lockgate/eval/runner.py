"""Run a suite against several models at once.

Every (model, item) pair is one asyncio task; a semaphore per model caps how many of that
model's requests are in flight (``concurrency``).  Completions come from the cache when the
same (model alias, messages, tools, params) was answered before, else from the backend, and
are stored in the cache the moment they arrive, so cancelling a run loses nothing and a
resumed run only calls what is missing.  The judge (if any) goes through the same backend and
the same cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from lockgate.eval import refusal
from lockgate.eval.backend import ChatBackend, Completion
from lockgate.eval.cache import CompletionCache, cache_key
from lockgate.eval.results import ItemResult, ModelInfo, ModelSpec
from lockgate.eval.scorers import Answer, JudgeFn, ScoreInput, Scorer
from lockgate.eval.suite import Item, Suite

FAILURES: tuple[type[BaseException], ...] = (openai.APIError,)
Prices = dict[str, tuple[float, float]]  # model label or alias -> (input, output) per 1M tokens
#: judge calls run greedy and bounded (an unbounded judge can ramble to the context limit);
#: a judge spec such as ``smollm2@max_tokens=64`` overrides these
JUDGE_PARAMS: dict[str, Any] = {"temperature": 0.0, "max_tokens": 256}


@dataclass(slots=True)
class CallStats:
    upstream: int = 0  # completions fetched from the backend
    cached: int = 0  # completions served from the cache
    failed: int = 0


@dataclass
class Runner:
    suite: Suite
    scorers: dict[str, Scorer]
    models: list[ModelSpec]
    backend: ChatBackend
    cache: CompletionCache | None = None
    judge_model: str | None = None
    concurrency: int = 4
    prices: Prices = field(default_factory=dict)
    on_result: Callable[[ItemResult], None] | None = None
    results: list[ItemResult] = field(default_factory=list)
    stats: CallStats = field(default_factory=CallStats)
    infos: dict[str, ModelInfo] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._limits = {m.label: asyncio.Semaphore(self.concurrency) for m in self.models}
        self._judge_limit = asyncio.Semaphore(self.concurrency)
        self.infos = {m.label: ModelInfo(label=m.label, alias=m.alias, params=m.params) for m in self.models}
        self._judge = ModelSpec.parse(self.judge_model) if self.judge_model is not None else None

    async def run(self) -> list[ItemResult]:
        """Run every pending pair; on cancellation the finished ones stay in ``results``."""
        registry = await self.backend.model_info()
        for info in self.infos.values():
            info.registry = registry.get(info.alias, {})
        tasks = [asyncio.create_task(self._one(m, item)) for m in self.models for item in self.suite.items]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
        return self.results

    async def _call(
        self, alias: str, messages: list[dict[str, Any]], tools: Any, params: dict[str, Any]
    ) -> tuple[Completion, bool]:
        key = cache_key(alias, messages, tools, params)
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is not None:
            self.stats.cached += 1
            return hit, True
        completion = await self.backend.complete(alias, messages, tools, params)
        self.stats.upstream += 1
        if self.cache is not None:
            self.cache.put(key, alias, completion)
        return completion, False

    def _judge_fn(self) -> JudgeFn | None:
        judge = self._judge
        if judge is None:
            return None
        params = JUDGE_PARAMS | judge.params

        async def ask(messages: list[dict[str, Any]]) -> str:
            async with self._judge_limit:
                completion, _ = await self._call(judge.alias, messages, None, params)
            return completion.text

        return ask

    def _params(self, model: ModelSpec, item: Item) -> dict[str, Any]:
        return {**self.suite.params_for(item).model_dump(exclude_none=True), **model.params}

    async def _one(self, model: ModelSpec, item: Item) -> None:
        messages = self.suite.messages_for(item)
        scorer = self.scorers[item.id]
        base = ItemResult(
            model=model.label,
            item_id=item.id,
            tags=self.suite.tags_for(item),
            expected=item.expected,
            scorer=scorer.name,
            binary=scorer.binary,
        )
        try:
            async with self._limits[model.label]:
                completion, cached = await self._call(
                    model.alias, messages, item.tools, self._params(model, item)
                )
            result = await self._grade(base, model, completion, cached, messages)
        except FAILURES as exc:
            self.stats.failed += 1
            result = base.model_copy(update={"error": f"{type(exc).__name__}: {exc}"})
        self.results.append(result)
        if self.on_result is not None:
            self.on_result(result)

    async def _grade(
        self, base: ItemResult, model: ModelSpec, c: Completion, cached: bool, messages: list[dict[str, Any]]
    ) -> ItemResult:
        answer = Answer(c.text, c.tool_calls)
        score = await self.scorers[base.item_id].score(ScoreInput(answer, messages, self._judge_fn()))
        verdict = refusal.detect(c.text) if not c.tool_calls else refusal.Verdict(False)
        self._note_headers(model.label, c.headers)
        return base.model_copy(
            update={
                "score": score.value,
                "detail": score.detail,
                "text": c.text,
                "tool_calls": c.tool_calls,
                "refused": verdict.refused,
                "refusal_rule": verdict.rule,
                "ttft_s": c.ttft_s,
                "gen_s": c.gen_s,
                "latency_s": c.latency_s,
                "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens,
                "cost": self._cost(model, c),
                "deployment": c.headers.get("x-lockgate-deployment"),
                "cached": cached,
                "attempts": 0 if cached else c.attempts,
            }
        )

    def _cost(self, model: ModelSpec, c: Completion) -> float | None:
        price = self.prices.get(model.label) or self.prices.get(model.alias)
        if price is None:
            return None
        return (c.prompt_tokens * price[0] + c.completion_tokens * price[1]) / 1_000_000

    def _note_headers(self, label: str, headers: dict[str, str]) -> None:
        info = self.infos[label]
        slots = {
            "x-lockgate-deployment": info.deployments,
            "x-lockgate-provider": info.providers,
            "x-lockgate-jurisdiction": info.jurisdictions,
            "x-lockgate-policy": info.policies,
        }
        for header, seen in slots.items():
            if header in headers:
                seen[headers[header]] = seen.get(headers[header], 0) + 1
