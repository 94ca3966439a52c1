"""The HTTP side of the batched path: which requests it takes, their sampling, and the
OpenAI JSON and SSE shapes built from a sequence's events (chat and text completions share
everything but the shape of a chunk)."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from lockgate.engines.batched import ContextOverflow, Event, Sequence
from lockgate.engines.replies import json_reply, max_tokens, rejected
from lockgate.engines.sampling import Sampling

if TYPE_CHECKING:
    from lockgate.engines.llamacpp_worker import Engine

_UNBATCHED_CHAT = (
    "tools",
    "tool_choice",
    "functions",
    "function_call",
    "logprobs",
    "top_logprobs",
    "logit_bias",
)
_UNBATCHED_COMPLETION = ("echo", "logprobs", "logit_bias", "suffix")


def batchable_chat(engine: Engine, body: dict[str, Any]) -> bool:
    """Whether the batched path serves this request exactly; the rest keep the high-level path."""
    if engine.batch is None or engine.formatter is None:
        return False
    if any(body.get(k) not in (None, False) for k in _UNBATCHED_CHAT):
        return False
    fmt = body.get("response_format")
    if fmt is not None and not (isinstance(fmt, dict) and fmt.get("type") == "text"):
        return False
    return body.get("n") in (None, 1)


def batchable_completion(engine: Engine, body: dict[str, Any]) -> bool:
    if engine.batch is None:
        return False
    if any(body.get(k) not in (None, False) for k in _UNBATCHED_COMPLETION):
        return False
    if body.get("prompt") in ("", [""]):
        return False
    return body.get("n") in (None, 1)


def _number(body: dict[str, Any], key: str, default: float) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def _sampling(body: dict[str, Any], temperature: float) -> Sampling:
    """Request fields -> a native sampler chain, with the high-level ``Llama``'s defaults."""
    seed = body.get("seed")
    return Sampling(
        temperature=_number(body, "temperature", temperature),
        top_p=_number(body, "top_p", 0.95),
        top_k=int(_number(body, "top_k", 40)),
        min_p=_number(body, "min_p", 0.05),
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        presence_penalty=_number(body, "presence_penalty", 0.0),
        frequency_penalty=_number(body, "frequency_penalty", 0.0),
        repeat_penalty=_number(body, "repeat_penalty", 1.0),
    )


def _stops(body: dict[str, Any]) -> list[str]:
    stop = body.get("stop")
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list):
        return [x for x in stop if isinstance(x, str)]
    return []


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


@dataclass(frozen=True, slots=True)
class Shape:
    """How one completion kind looks on the wire."""

    object: str  # "chat.completion" | "text_completion"
    chunk_object: str
    id: str
    created: int
    model: str  # the model name for the whole reply (the client's)
    alias: str  # the model name in stream chunks (the engine's alias, as the high-level path)
    chat: bool

    def choice(self, text: str, reason: str | None, streamed: bool) -> dict[str, Any]:
        if not self.chat:
            return {"text": text, "index": 0, "logprobs": None, "finish_reason": reason}
        if streamed:
            delta = {"content": text} if reason is None else {}
            return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        message = {"role": "assistant", "content": text}
        return {"index": 0, "message": message, "logprobs": None, "finish_reason": reason}

    def whole(self, text: str, reason: str, usage: Any) -> dict[str, Any]:
        return {"id": self.id, "object": self.object, "created": self.created, "model": self.model,
                "choices": [self.choice(text, reason, False)], "usage": usage}  # fmt: skip

    def chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body = {"id": self.id, "object": self.chunk_object, "created": self.created, "model": self.alias,
                "choices": choices, **extra}  # fmt: skip
        return b"data: " + orjson.dumps(body) + b"\n\n"

    def first(self) -> bytes:
        """The chat stream opens with the assistant role; text completions have no such chunk."""
        if not self.chat:
            return b""
        role = {"index": 0, "delta": {"role": "assistant"}, "logprobs": None, "finish_reason": None}
        return self.chunk([role])


async def _collect(request: web.Request, queue: asyncio.Queue[Event]) -> tuple[str, str, Any]:
    parts: list[str] = []
    while True:
        event = await queue.get()
        if event[0] == "text":
            parts.append(event[1])
        elif event[0] == "done":
            return "".join(parts), event[1], event[2]
        else:
            raise event[1]
        if _gone(request):
            raise ConnectionResetError("the client left")


async def _whole(request: web.Request, queue: asyncio.Queue[Event], shape: Shape) -> web.StreamResponse:
    try:
        text, reason, usage = await _collect(request, queue)
    except ConnectionResetError:
        return web.Response(status=499)
    except Exception as exc:
        return rejected(exc)
    return json_reply(shape.whole(text, reason, usage))


async def _sse(
    request: web.Request, queue: asyncio.Queue[Event], shape: Shape, include_usage: bool
) -> web.StreamResponse:
    event = await queue.get()
    if event[0] == "error":  # failed before any token: still time for a proper HTTP status
        return rejected(event[1])
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await resp.prepare(request)
    if first := shape.first():
        await resp.write(first)
    while True:
        if event[0] == "text":
            await resp.write(shape.chunk([shape.choice(event[1], None, True)]))
        elif event[0] == "done":
            await resp.write(shape.chunk([shape.choice("", event[1], True)]))
            if include_usage:
                await resp.write(shape.chunk([], usage=event[2]))
            break
        else:
            err = {"error": {"message": f"engine error: {event[1]}", "type": "engine_error"}}
            await resp.write(b"data: " + orjson.dumps(err) + b"\n\n")
            break
        event = await queue.get()
    await resp.write(b"data: [DONE]\n\n")
    return resp


async def _generate(
    request: web.Request, engine: Engine, body: dict[str, Any], prompt: list[int], stop: list[str],
    sampling: Sampling, limit: int | None, shape: Shape, adapter: str | None,
) -> web.StreamResponse:  # fmt: skip
    """Run one sequence on the batch engine (with its LoRA adapter, if any) and answer it as
    JSON or SSE."""
    assert engine.batch is not None
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event] = asyncio.Queue()

    def emit(event: Event) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    try:
        seq: Sequence = engine.batch.submit(prompt, limit, stop, sampling, emit, adapter)
    except (ContextOverflow, ValueError, RuntimeError) as exc:
        return rejected(exc)
    try:
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return await _sse(request, queue, shape, include_usage)
        return await _whole(request, queue, shape)
    finally:
        engine.batch.cancel(seq)  # no-op when it finished; frees it when the client left


def _shape(engine: Engine, body: dict[str, Any], chat: bool) -> Shape:
    kind = "chat.completion" if chat else "text_completion"
    return Shape(kind, "chat.completion.chunk" if chat else kind, f"{'chat' if chat else ''}cmpl-{uuid.uuid4()}",
                 int(time.time()), body.get("model") or engine.alias, engine.alias, chat)  # fmt: skip


async def batched_chat(
    request: web.Request, engine: Engine, body: dict[str, Any], messages: list[Any], adapter: str | None
) -> web.StreamResponse:
    try:
        prompt, template_stop = await asyncio.to_thread(engine.render, messages)
    except Exception as exc:
        return rejected(exc)
    sampling = _sampling(body, 0.2)  # create_chat_completion's default temperature
    stop = _stops(body) + template_stop
    shape = _shape(engine, body, True)
    return await _generate(request, engine, body, prompt, stop, sampling, max_tokens(body), shape, adapter)


async def batched_completion(
    request: web.Request, engine: Engine, body: dict[str, Any], prompt_text: str, adapter: str | None
) -> web.StreamResponse:
    try:
        prompt = await asyncio.to_thread(engine.completion_prompt, prompt_text)
    except Exception as exc:
        return rejected(exc)
    sampling = _sampling(body, 0.8)  # create_completion's default temperature
    shape = _shape(engine, body, False)
    return await _generate(
        request, engine, body, prompt, _stops(body), sampling, max_tokens(body) or 16, shape, adapter
    )
