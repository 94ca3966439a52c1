"""A scripted OpenAI-compatible server (aiohttp, loopback) for the eval tests.

It runs in its own thread with its own event loop, so both async tests and the synchronous
CLI tests (which call ``asyncio.run``) can talk to it over HTTP.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

Reply = str | dict[str, Any]  # text, or {"tool_calls": [...]} / {"status": 503}


def last_user(body: dict[str, Any]) -> str:
    users = [m.get("content") or "" for m in body["messages"] if m["role"] == "user"]
    return str(users[-1]) if users else ""


def default_responder(body: dict[str, Any]) -> Reply:
    return "The answer is 5."


@dataclass
class ScriptedServer:
    responder: Callable[[dict[str, Any]], Reply] = default_responder
    fail_next: int = 0  # this many requests get a 503 first
    hold_until_inflight: int = 0  # hold each request until this many are in flight (or 1 s passed)
    block: Callable[[dict[str, Any]], bool] = lambda body: False  # requests held until `release` is set
    release: threading.Event = field(default_factory=threading.Event)
    calls: list[dict[str, Any]] = field(default_factory=list)
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    inflight: dict[str, int] = field(default_factory=dict)
    max_inflight: dict[str, int] = field(default_factory=dict)
    base_url: str = ""

    def reset(self) -> None:
        self.calls.clear()
        self.headers_seen.clear()
        self.max_inflight.clear()

    async def _hold(self, body: dict[str, Any]) -> None:
        deadline = time.monotonic() + 1.0
        # polling: the release flag is set from the test's thread, so an asyncio.Event cannot be used
        while sum(self.inflight.values()) < self.hold_until_inflight and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        while self.block(body) and not self.release.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.calls.append(body)
        self.headers_seen.append(dict(request.headers))
        if self.fail_next > 0:
            self.fail_next -= 1
            err = {"error": {"message": "overloaded", "type": "upstream_error", "param": None, "code": None}}
            return web.json_response(err, status=503)
        model = body["model"]
        self.inflight[model] = self.inflight.get(model, 0) + 1
        self.max_inflight[model] = max(self.max_inflight.get(model, 0), self.inflight[model])
        try:
            await self._hold(body)
            reply = self.responder(body)
        finally:
            self.inflight[model] -= 1
        if isinstance(reply, dict) and "status" in reply:
            err = {
                "error": {
                    "message": "bad request",
                    "type": "invalid_request_error",
                    "param": "model",
                    "code": None,
                }
            }
            return web.json_response(err, status=int(reply["status"]))
        return await self._stream(request, model, reply)

    async def _stream(self, request: web.Request, model: str, reply: Reply) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "x-lockgate-deployment": f"local/{model}-q8",
                "x-lockgate-provider": "local",
                "x-lockgate-jurisdiction": "EU",
                "x-lockgate-policy": "default",
            }
        )
        await resp.prepare(request)
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": model}
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if isinstance(reply, str):
            deltas += [{"content": piece} for piece in reply.split(" ") if piece]
            deltas = [deltas[0]] + [
                {"content": (" " if n else "") + d["content"]} for n, d in enumerate(deltas[1:])
            ]
        else:
            for n, call in enumerate(reply["tool_calls"]):
                fn = {"name": call["name"], "arguments": call["arguments"]}
                deltas.append(
                    {"tool_calls": [{"index": n, "id": f"call_{n}", "type": "function", "function": fn}]}
                )
        for delta in deltas:
            chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            await resp.write(b"data: " + orjson.dumps(chunk) + b"\n\n")
        done = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        usage = {
            **base,
            "choices": [],
            "usage": {
                "prompt_tokens": 10,
                "completion_tokens": len(deltas) - 1,
                "total_tokens": 10 + len(deltas) - 1,
            },
        }
        for chunk in (done, usage):
            await resp.write(b"data: " + orjson.dumps(chunk) + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def models(self, request: web.Request) -> web.Response:
        data = [
            {
                "id": "m1",
                "object": "model",
                "created": 0,
                "owned_by": "lockgate",
                "lockgate": {"sha256": "ab12", "registry": "local"},
            },
            {"id": "m2", "object": "model", "created": 0, "owned_by": "lockgate"},
        ]
        return web.json_response({"object": "list", "data": data})


def _serve(server: ScriptedServer, ready: threading.Event, stop: threading.Event) -> None:
    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", server.chat)
        app.router.add_get("/v1/models", server.models)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        server.base_url = f"http://127.0.0.1:{port}/v1"
        ready.set()
        while not stop.is_set():  # noqa: ASYNC110 - `stop` is a threading.Event set by the fixture
            await asyncio.sleep(0.02)
        await runner.cleanup()

    asyncio.run(main())


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=_serve, args=(srv, ready, stop), daemon=True)
    thread.start()
    assert ready.wait(10), "scripted server did not start"
    yield srv
    srv.release.set()
    stop.set()
    thread.join(10)


@pytest.fixture
def write_suite(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(text: str, name: str = "suite.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
