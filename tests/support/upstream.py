"""A scripted OpenAI-compatible upstream on loopback, for fault injection.

The behaviour is chosen by the upstream model name the gateway sends (so one server can
serve every scenario): ``ok``, ``slow``, ``fail500``, ``overload429``, ``overload503``,
``malformed``, ``reset``, ``cut`` (stream stops mid-way), ``bad400``, ``hang``.  Every request
body is kept in ``requests`` so tests can check exactly what a provider saw.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer


def completion(model: str, text: str, prompt_tokens: int = 11, completion_tokens: int = 7) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }  # fmt: skip


def chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
    return b"data: " + orjson.dumps(body) + b"\n\n"


class FakeUpstream:
    def __init__(
        self, name: str = "fake", words: int = 5, usage_choices: Any = (), delay: float = 0.0
    ) -> None:
        self.name = name
        self.words = words
        self.usage_choices = usage_choices  # [] or None: the two shapes of usage chunks seen in the wild
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_first = 0  # fail this many requests with 503 before answering
        self.disconnects = 0
        self.server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/v1"))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/completions", self.chat)
        app.router.add_post("/v1/embeddings", self.embeddings)
        self.add_routes(app)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    def add_routes(self, app: web.Application) -> None:
        """More routes for subclasses (a native protocol endpoint, say)."""

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def text(self, body: dict[str, Any]) -> str:
        msgs = body.get("messages") or [{"content": body.get("prompt", "")}]
        last = msgs[-1].get("content")
        return f"{self.name} says: {last if isinstance(last, str) else 'ok'}"

    async def embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(len(inputs))]
        return web.json_response({"object": "list", "data": data, "model": body["model"],
                                  "usage": {"prompt_tokens": 3, "total_tokens": 3}})  # fmt: skip

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        model = body.get("model", "ok")
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.json_response({"error": {"message": "busy"}}, status=503, headers={"Retry-After": "0"})
        handler = getattr(self, "mode_" + model, None)
        if handler is not None:
            result: web.StreamResponse = await handler(request, body)
            return result
        if body.get("stream"):
            return await self.stream(request, body)
        return web.json_response(completion(model, self.text(body)))

    async def stream(
        self, request: web.Request, body: dict[str, Any], cut_after: int | None = None
    ) -> web.StreamResponse:
        model = body.get("model", "ok")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        words = self.text(body).split(" ")
        try:
            await resp.write(chunk(model, {"role": "assistant", "content": ""}))
            for i, w in enumerate(words):
                if cut_after is not None and i >= cut_after:
                    return resp  # connection closes without [DONE]
                await resp.write(chunk(model, {"content": (" " if i else "") + w}))
                await asyncio.sleep(0.005)
            await resp.write(chunk(model, {}, "stop"))
            if (body.get("stream_options") or {}).get("include_usage"):
                usage = {
                    "prompt_tokens": 11,
                    "completion_tokens": len(words),
                    "total_tokens": 11 + len(words),
                }
                tail = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model,
                        "choices": None if self.usage_choices is None else [], "usage": usage}  # fmt: skip
                await resp.write(b"data: " + orjson.dumps(tail) + b"\n\n")
            await resp.write(b"data: [DONE]\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            self.disconnects += 1
            raise
        return resp

    async def mode_slow(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        await asyncio.sleep(3)
        return web.json_response(completion("slow", "late"))

    async def mode_hang(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(chunk("hang", {"role": "assistant", "content": "start"}))
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.disconnects += 1
            raise
        return resp

    async def mode_fail500(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        return web.json_response({"error": {"message": "internal"}}, status=500)

    async def mode_overload429(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        return web.json_response(
            {"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "7"}
        )

    async def mode_overload503(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        return web.json_response(
            {"error": {"message": "overloaded"}}, status=503, headers={"Retry-After": "3"}
        )

    async def mode_bad400(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        return web.json_response({"error": {"message": f"bad request for {auth}", "type": "invalid_request_error"}},
                                 status=400)  # fmt: skip

    async def mode_malformed(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        return web.Response(body=b'{"id": "x", "choices": [', content_type="application/json")

    async def mode_reset(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    async def mode_cut(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        return await self.stream(request, body, cut_after=2)
