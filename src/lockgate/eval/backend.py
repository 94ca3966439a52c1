"""How the runner talks to a model: one streamed chat completion through the gateway.

``OpenAIBackend`` uses the official ``openai`` SDK (``AsyncOpenAI`` with any ``base_url``), so
it works against the lockgate gateway or any OpenAI-compatible server.  Each request carries
``x-lockgate-purpose: eval:<run-id>`` so the gateway's audit log can tell eval traffic apart.

Timing: ``ttft_s`` is request start to the first content/tool-call delta; ``gen_s`` is first
delta to end of stream (the decode time used for tokens/s); ``latency_s`` is the whole call.
Transient errors (429, 5xx, connection drops, timeouts) are retried with exponential backoff.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import openai
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk

LOCKGATE_HEADERS = (
    "x-lockgate-deployment",
    "x-lockgate-provider",
    "x-lockgate-jurisdiction",
    "x-lockgate-policy",
)
TRANSIENT: tuple[type[BaseException], ...] = (
    openai.RateLimitError,
    openai.InternalServerError,
    openai.APIConnectionError,
)


@dataclass(slots=True)
class Completion:
    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_reported: bool = False
    ttft_s: float | None = None
    gen_s: float = 0.0
    latency_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    attempts: int = 1


class ChatBackend(Protocol):
    async def complete(
        self,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        params: dict[str, Any],
    ) -> Completion: ...

    async def model_info(self) -> dict[str, dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay_s, self.base_delay_s * 2**attempt))


class _Accumulator:
    """Folds stream chunks into text, tool calls, usage and timings."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.first: float | None = None
        self.parts: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish: str | None = None
        self.usage: tuple[int, int] | None = None
        self.deltas = 0

    def add(self, chunk: ChatCompletionChunk) -> None:
        if chunk.usage is not None:
            self.usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
        for choice in chunk.choices:
            delta = choice.delta
            if delta.content or delta.tool_calls:
                self.deltas += 1
                self.first = self.first if self.first is not None else time.perf_counter()
            if delta.content:
                self.parts.append(delta.content)
            for tc in delta.tool_calls or []:
                slot = self.calls.setdefault(tc.index, {"id": tc.id, "name": "", "arguments": ""})
                if tc.function is not None:
                    slot["name"] += tc.function.name or ""
                    slot["arguments"] += tc.function.arguments or ""
            self.finish = choice.finish_reason or self.finish

    def result(self, headers: dict[str, str]) -> Completion:
        end = time.perf_counter()
        prompt, completion = self.usage if self.usage is not None else (0, self.deltas)
        return Completion(
            text="".join(self.parts),
            tool_calls=[self.calls[i] for i in sorted(self.calls)],
            finish_reason=self.finish,
            prompt_tokens=prompt,
            completion_tokens=completion,
            usage_reported=self.usage is not None,
            ttft_s=None if self.first is None else self.first - self.started,
            gen_s=0.0 if self.first is None else end - self.first,
            latency_s=end - self.started,
            headers=headers,
        )


class OpenAIBackend:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        purpose: str,
        retry: RetryPolicy | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        self.client = AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout_s)
        self.purpose = purpose
        self.retry = retry or RetryPolicy()

    async def _once(
        self,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        params: dict[str, Any],
    ) -> Completion:
        extra: dict[str, Any] = {"tools": tools} if tools else {}
        started = time.perf_counter()
        create: Any = self.client.chat.completions.with_raw_response.create  # one call shape: streamed
        raw = await create(
            model=model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"x-lockgate-purpose": self.purpose},
            **extra,
            **params,
        )
        headers = {k: raw.headers[k] for k in LOCKGATE_HEADERS if k in raw.headers}
        stream = raw.parse()
        if not isinstance(stream, AsyncStream):
            raise openai.APIResponseValidationError(
                raw.http_response, None, message="expected a streamed reply"
            )
        acc = _Accumulator(started)
        async for chunk in stream:
            acc.add(chunk)
        return acc.result(headers)

    async def complete(
        self,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        params: dict[str, Any],
    ) -> Completion:
        for attempt in range(self.retry.attempts):
            try:
                result = await self._once(model, messages, tools, params)
            except TRANSIENT:
                if attempt + 1 >= self.retry.attempts:
                    raise
                await asyncio.sleep(self.retry.delay(attempt))
                continue
            result.attempts = attempt + 1
            return result
        raise RuntimeError("unreachable: retry loop ended without a result")

    async def model_info(self) -> dict[str, dict[str, Any]]:
        """``GET /v1/models``: the ``lockgate`` extension of each model (registry hashes), if any."""
        try:
            page = await self.client.models.list()
        except openai.APIError:
            return {}
        out: dict[str, dict[str, Any]] = {}
        for m in page.data:
            ext = (m.model_extra or {}).get("lockgate")
            out[m.id] = ext if isinstance(ext, dict) else {}
        return out

    async def close(self) -> None:
        await self.client.close()
