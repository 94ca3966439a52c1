"""Stand-in providers for the sovereign-routing end-to-end tests.

Four scripted OpenAI-compatible upstreams on loopback play an EU provider (Mistral's catalogue
facts), a US one (OpenAI's), a Chinese one (DeepSeek's) and a self-hosted engine
(``facts: {self_hosted: true}``).  ``SovereignLab`` builds gateway configs over them, creates
API keys and clients, and reports what each stand-in received.  ``ThreadedStandIns`` runs the
same upstreams on a loop of their own, for a gateway that runs as a separate process.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import orjson
import pytest
import yaml
from aiohttp import web
from openai.types.chat import ChatCompletionMessageParam
from sqlalchemy import Engine
from tests.support.gateway import remote
from tests.support.upstream import FakeUpstream, chunk

from lockgate.auth.keys import create_key
from lockgate.storage.db import open_store

#: configured provider name -> catalogue entry (None: the self-hosted stand-in)
CATALOGUES: dict[str, str | None] = {"eu": "mistral", "us": "openai", "cn": "deepseek", "own": None}
HOSTED = ("eu", "us", "cn")


class StandIn(FakeUpstream):
    """A FakeUpstream with one more scripted mode: ``chars`` streams the reply three characters
    per chunk, so a placeholder such as ``[IBAN_1]`` always arrives split across chunks."""

    async def mode_chars(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        if not body.get("stream"):
            return web.json_response({"error": {"message": "chars mode streams only"}}, status=400)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        text = self.text(body)
        await resp.write(chunk("chars", {"role": "assistant", "content": ""}))
        for i in range(0, len(text), 3):
            await resp.write(chunk("chars", {"content": text[i : i + 3]}))
        await resp.write(chunk("chars", {}, "stop"))
        await resp.write(b"data: [DONE]\n\n")
        return resp

    async def mode_tools(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        """An agent's upstream: a short text then a ``get_weather`` call; once the tool's result
        is in the conversation, a text answer that quotes it."""
        last = body["messages"][-1]
        if last["role"] == "tool":
            return await self._answer(request, body, [{"content": f"tool said: {last['content']}"}], "stop")
        call = {"index": 0, "id": "call_w1", "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": '}}  # fmt: skip
        deltas = [{"content": "Let me check."}, {"tool_calls": [call]},
                  {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}]  # fmt: skip
        return await self._answer(request, body, deltas, "tool_calls")

    async def mode_pause(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        """A stream that goes quiet for half a second after its first words (a long tool-free think)."""
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(chunk("pause", {"role": "assistant", "content": "thinking"}))
        await asyncio.sleep(0.5)
        await resp.write(chunk("pause", {"content": " done"}))
        await resp.write(chunk("pause", {}, "stop"))
        await resp.write(b"data: [DONE]\n\n")
        return resp

    async def mode_overflow(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        message = "This model's maximum context length is 2048 tokens. However, you requested 9000 tokens."
        return web.json_response({"error": {"message": message, "type": "invalid_request_error",
                                            "code": "context_length_exceeded"}}, status=400)  # fmt: skip

    async def _answer(
        self, request: web.Request, body: dict[str, Any], deltas: list[dict[str, Any]], finish: str
    ) -> web.StreamResponse:
        model = body["model"]
        usage = {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}
        if not body.get("stream"):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": "".join(d.get("content", "") for d in deltas),
            }
            calls = [c for d in deltas for c in d.get("tool_calls", ()) if "id" in c]
            for c in calls:
                c["function"]["arguments"] = '{"city": "Paris"}'
            if calls:
                message["tool_calls"] = calls
            return web.json_response({"id": "chatcmpl-t", "object": "chat.completion", "created": 1, "model": model,
                                      "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                                      "usage": usage})  # fmt: skip
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for delta in deltas:
            await resp.write(chunk(model, delta))
        await resp.write(chunk(model, {}, finish))
        tail = {"id": "chatcmpl-t", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [],
                "usage": usage}  # fmt: skip
        await resp.write(b"data: " + orjson.dumps(tail) + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        return resp

    async def messages(self, request: web.Request) -> web.StreamResponse:
        """A native Anthropic endpoint: it echoes what it got, so tests see the body was untouched."""
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        text = f"{self.name} natively says: {body['messages'][-1]['content']}"
        usage = {"input_tokens": 13, "output_tokens": 5}
        if not body.get("stream"):
            return web.json_response({"id": "msg_native", "type": "message", "role": "assistant", "model": body["model"],
                                      "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                                      "stop_sequence": None, "usage": usage})  # fmt: skip
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        events = [
            ("message_start", {"type": "message_start", "message": {
                "id": "msg_native", "type": "message", "role": "assistant", "model": body["model"], "content": [],
                "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 13, "output_tokens": 0}}}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": text}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": 5}}),
            ("message_stop", {"type": "message_stop"}),
        ]  # fmt: skip
        for name, data in events:
            await resp.write(f"event: {name}\ndata: ".encode() + orjson.dumps(data) + b"\n\n")
        return resp

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages", self.messages)


def provider_spec(name: str, url: str) -> dict[str, Any]:
    catalogue = CATALOGUES[name]
    extra: dict[str, Any] = {"timeouts": {"connect": 2, "read": 10}}
    if catalogue is None:
        extra["facts"] = {"self_hosted": True}
    else:
        extra["catalogue"] = catalogue
    return remote(url, **extra)


def free_port() -> int:
    """A loopback port nobody listens on (an unreachable provider)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def admin_call(method: str, url: str, key: str, json: Any = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, url, json=json, headers={"Authorization": f"Bearer {key}"}) as r,
    ):
        return r.status, await r.json()


async def wait_for(check: Callable[[], bool], what: str) -> None:
    """Poll a condition the gateway reaches on its own (a background refresh, a timer)."""
    for _ in range(300):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def dep(provider: str, model: str = "ok", **extra: Any) -> dict[str, Any]:
    return {"provider": provider, "model": model, **extra}


class SovereignLab:
    def __init__(self, ups: dict[str, StandIn], tmp_path: Path) -> None:
        self.ups = ups
        self.tmp_path = tmp_path
        self.data_dir = tmp_path / "state"
        self._store: Engine | None = None
        self._clients: list[openai.AsyncOpenAI] = []

    def config(self, models: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """A gateway config over the four stand-ins; ``extra`` replaces top-level sections."""
        cfg: dict[str, Any] = {
            "data_dir": str(self.data_dir),
            "operator": {"domicile": "DE"},
            "auth": {"mode": "keys"},
            "providers": {n: provider_spec(n, up.url) for n, up in self.ups.items()},
            "models": models,
            "retry": {"attempts": 1, "backoff_initial": 0.01, "backoff_max": 0.05},
        }
        cfg.update(extra)
        return cfg

    def write_config(self, cfg: dict[str, Any]) -> Path:
        path = self.tmp_path / "lockgate.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    def key(self, name: str, **kwargs: Any) -> str:
        """Create an API key in the store before the gateway starts (it loads keys at start-up;
        a key made while it runs could be overwritten by a key refresh already in flight)."""
        if self._store is None:
            self._store = open_store(f"sqlite:///{self.data_dir / 'lockgate.db'}")
        _, secret = create_key(self._store, name, **kwargs)
        return secret

    def client(self, base: str, key: str) -> openai.AsyncOpenAI:
        made = openai.AsyncOpenAI(base_url=base + "/v1", api_key=key, max_retries=0, timeout=30)
        self._clients.append(made)
        return made

    async def close(self) -> None:
        for made in self._clients:
            await made.close()
        if self._store is not None:
            self._store.dispose()

    @staticmethod
    async def chat(
        client: openai.AsyncOpenAI,
        model: str,
        content: str | list[ChatCompletionMessageParam] = "hello",
        headers: dict[str, str] | None = None,
    ) -> tuple[dict[str, str], str]:
        """One non-streamed chat request: (response headers, reply text)."""
        messages: list[ChatCompletionMessageParam] = (
            [{"role": "user", "content": content}] if isinstance(content, str) else content
        )
        raw = await client.chat.completions.with_raw_response.create(
            model=model, messages=messages, extra_headers=headers or {}
        )
        reply = raw.parse()
        return dict(raw.headers), reply.choices[0].message.content or ""

    @staticmethod
    async def stream(
        client: openai.AsyncOpenAI, model: str, content: str
    ) -> tuple[dict[str, str], list[str]]:
        """One streamed chat request: (response headers, the content deltas as received)."""
        async with client.chat.completions.with_streaming_response.create(
            model=model, messages=[{"role": "user", "content": content}], stream=True
        ) as resp:
            headers = dict(resp.headers)
            deltas = [c.choices[0].delta.content or "" async for c in await resp.parse() if c.choices]
        return headers, deltas

    def seen(self) -> dict[str, int]:
        """How many requests each stand-in received."""
        return {name: len(up.requests) for name, up in self.ups.items()}

    def received(self, name: str) -> bytes:
        """Every request body one stand-in received, serialised (to search for leaked values)."""
        return orjson.dumps(self.ups[name].requests)

    def reset(self) -> None:
        for up in self.ups.values():
            up.requests.clear()
            up.headers.clear()


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[SovereignLab]:
    ups = {name: StandIn(name) for name in CATALOGUES}
    for up in ups.values():
        await up.start()
    try:
        made = SovereignLab(ups, tmp_path)
        yield made
        await made.close()
    finally:
        for up in ups.values():
            await up.close()


class ThreadedStandIns:
    """FakeUpstreams served from an event loop on a background thread, so that synchronous
    tests can drive a gateway process while the stand-ins answer it."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.ups = {name: FakeUpstream(name) for name in names}

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def start(self) -> None:
        self.thread.start()
        for up in self.ups.values():
            self._run(up.start())

    def stop(self) -> None:
        for up in self.ups.values():
            self._run(up.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def seen(self) -> dict[str, int]:
        return {name: len(up.requests) for name, up in self.ups.items()}


@pytest.fixture(scope="module")
def threaded_standins() -> Iterator[ThreadedStandIns]:
    standins = ThreadedStandIns(HOSTED)
    standins.start()
    yield standins
    standins.stop()
