"""The transport seam: both registered transports behave the same at the seam (status, headers,
body, the seam's own errors, the release hook), and the gateway maps their failures to the
client's protocol the same way, whichever one a provider uses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from tests.support.gateway import remote, running_gateway

from lockgate.config.schema import TimeoutConfig
from lockgate.providers.base import UpstreamBodyError, UpstreamConnectError, UpstreamReadTimeout
from lockgate.providers.transport import TRANSPORTS, Transport, open_transport

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
KINDS = ["h1", "aiohttp"]
JSON_REPLY = orjson.dumps({"id": "x", "choices": [{"message": {"role": "assistant", "content": "hi"}}],
                           "usage": {"prompt_tokens": 3, "completion_tokens": 1}})  # fmt: skip


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return await reader.readexactly(length)


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@asynccontextmanager
async def scripted(script: Script) -> AsyncIterator[str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()
        await server.wait_closed()


async def answer_json(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        await _read_request(reader)
        writer.write(_head(200, {"content-type": "application/json", "X-Upstream": "yes",
                                 "Content-Length": str(len(JSON_REPLY))}) + JSON_REPLY)  # fmt: skip
        await writer.drain()


async def cut_mid_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(
        _head(200, {"Content-Type": "application/json", "Content-Length": "500"}) + b'{"id": "x", "cho'
    )
    await writer.drain()


async def cut_mid_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    event = {"id": "x", "object": "chat.completion.chunk", "model": "m",
             "choices": [{"index": 0, "delta": {"content": "half"}}]}  # fmt: skip
    writer.write(_head(200, {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"}))
    data = b"data: " + orjson.dumps(event) + b"\n\n"
    writer.write(b"%x\r\n%s\r\n" % (len(data), data))
    await writer.drain()
    await asyncio.sleep(0.05)


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    await asyncio.sleep(5)


def _transport(kind: str, read: float = 2.0) -> Transport:
    return open_transport(kind, 4, TimeoutConfig(connect=1.0, read=read))


def test_both_transports_are_registered_and_unknown_names_are_refused() -> None:
    _transport("h1")
    assert set(KINDS) <= set(TRANSPORTS)
    with pytest.raises(ValueError, match=r"unknown transport 'http3'.*aiohttp, h1"):
        open_transport("http3", 4, TimeoutConfig())


@pytest.mark.parametrize("kind", KINDS)
async def test_post_gives_status_headers_body_and_calls_the_hook_once(kind: str) -> None:
    calls: list[int] = []
    transport = _transport(kind)
    async with scripted(answer_json) as base:
        try:
            resp = await transport.post(base, "/chat/completions", b"{}", {"Content-Type": "application/json"},
                                        lambda: calls.append(1))  # fmt: skip
            assert resp.status == 200
            assert resp.headers.get("x-upstream") == "yes" and resp.headers["X-UPSTREAM"] == "yes"
            assert await resp.read() == JSON_REPLY
            resp.close()  # after release: a no-op, and the hook does not run again
            assert calls == [1]
            again = await transport.post(base, "/chat/completions", b"{}", {})
            assert orjson.loads(await again.read())["id"] == "x"
        finally:
            await transport.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_a_body_cut_short_is_the_seams_body_error(kind: str) -> None:
    calls: list[int] = []
    transport = _transport(kind)
    async with scripted(cut_mid_body) as base:
        try:
            resp = await transport.post(base, "/chat/completions", b"{}", {}, lambda: calls.append(1))
            with pytest.raises(UpstreamBodyError):
                await resp.read()
            assert calls == [1]
        finally:
            await transport.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stream_cut_short_is_the_seams_body_error(kind: str) -> None:
    transport = _transport(kind)
    async with scripted(cut_mid_stream) as base:
        try:
            resp = await transport.post(base, "/chat/completions", b"{}", {})
            pieces: list[bytes] = []
            with pytest.raises(UpstreamBodyError):
                async for piece in resp.iter_chunks():
                    pieces.append(piece)
            assert b"half" in b"".join(pieces)
            resp.close()
        finally:
            await transport.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_silence_is_a_read_timeout_and_refusal_a_connect_error(kind: str) -> None:
    transport = _transport(kind, read=0.3)
    try:
        async with scripted(never_answer) as base:
            with pytest.raises(UpstreamReadTimeout):
                await transport.post(base, "/chat/completions", b"{}", {})
        with pytest.raises(UpstreamConnectError):  # the server above is gone: nothing listens there
            await transport.post(base, "/chat/completions", b"{}", {})
    finally:
        await transport.close()


def _cfg(url: str, kind: str, **provider: Any) -> dict[str, Any]:
    return {
        "providers": {"up": remote(url, transport=kind, timeouts={"connect": 1, "read": 1.0}, **provider)},
        "models": {"m": {"deployments": [{"provider": "up", "model": "m"}]}},
        "retry": {"attempts": 0},
        "pii": {"enabled": False},
    }


async def _ask(script: Script, kind: str, tmp_path: Path, **provider: Any) -> tuple[int, dict[str, Any]]:
    """One chat completion through a gateway whose provider is ``script``: status and JSON."""
    async with (
        scripted(script) as url,
        running_gateway(_cfg(url, kind, **provider), tmp_path) as (base, _),
        aiohttp.ClientSession() as http,
        http.post(
            base + "/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        ) as r,  # fmt: skip
    ):
        return r.status, await r.json()


@pytest.mark.parametrize("kind", KINDS)
async def test_gateway_answers_a_body_cut_short_with_an_openai_502(kind: str, tmp_path: Path) -> None:
    status, body = await _ask(cut_mid_body, kind, tmp_path)
    assert status == 502
    assert body["error"]["type"] == "upstream_error"
    assert "failed while sending its answer" in body["error"]["message"]


@pytest.mark.parametrize("kind", KINDS)
async def test_gateway_ends_a_cut_stream_with_an_error_event(kind: str, tmp_path: Path) -> None:
    async with (
        scripted(cut_mid_stream) as url,
        running_gateway(_cfg(url, kind), tmp_path) as (base, _),
        aiohttp.ClientSession() as http,
        http.post(
            base + "/v1/chat/completions",
            json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        ) as r,  # fmt: skip
    ):
        text = await r.text()
    events = [e for e in text.split("\n\n") if e]
    assert '"half"' in events[0]
    assert events[-1] == "data: [DONE]"
    assert orjson.loads(events[-2][len("data: ") :])["error"]["code"] == "stream_interrupted"


# -- the cap on a body read whole (providers.<name>.max_response_bytes) ----------------------


def big_answer(size: int, *, chunked: bool) -> Script:
    """A JSON answer of exactly ``size`` bytes, sent with a Content-Length or in 4 KB chunks;
    then the connection stays open until the client drops it."""
    body = b'{"pad": "' + b"x" * (size - 11) + b'"}'
    assert len(body) == size

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await _read_request(reader)
            if not chunked:
                writer.write(_head(200, {"Content-Type": "application/json", "Content-Length": str(size)}) + body)
            else:
                writer.write(_head(200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}))
                for at in range(0, size, 4096):
                    piece = body[at : at + 4096]
                    writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            await writer.drain()

    return script


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize("kind", KINDS)
async def test_a_body_past_max_body_is_refused_and_one_at_it_is_read(kind: str, chunked: bool) -> None:
    limit = 64 * 1024
    transport = open_transport(kind, 4, TimeoutConfig(connect=1.0, read=2.0), max_body=limit)
    calls: list[int] = []
    try:
        async with scripted(big_answer(limit, chunked=chunked)) as base:
            resp = await transport.post(base, "/chat/completions", b"{}", {})
            assert len(await resp.read()) == limit
        async with scripted(big_answer(limit * 4, chunked=chunked)) as base:
            resp = await transport.post(base, "/chat/completions", b"{}", {}, lambda: calls.append(1))
            with pytest.raises(UpstreamBodyError, match=f"larger than {limit} bytes"):
                await resp.read()
            assert calls == [1]  # the slot is given back once
            again = await transport.post(base, "/chat/completions", b"{}", {})  # a fresh connection works
            with pytest.raises(UpstreamBodyError):
                await again.read()
    finally:
        await transport.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_the_cap_does_not_apply_to_a_body_relayed_in_pieces(kind: str) -> None:
    limit = 16 * 1024
    transport = open_transport(kind, 4, TimeoutConfig(connect=1.0, read=2.0), max_body=limit)
    try:
        async with scripted(big_answer(limit * 8, chunked=True)) as base:
            resp = await transport.post(base, "/chat/completions", b"{}", {})
            got = b"".join([piece async for piece in resp.iter_chunks()])
            assert len(got) == limit * 8
            resp.release()
    finally:
        await transport.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_gateway_answers_a_body_past_max_response_bytes_with_an_openai_502(kind: str, tmp_path: Path) -> None:
    status, body = await _ask(big_answer(200_000, chunked=False), kind, tmp_path, max_response_bytes=100_000)
    assert status == 502
    assert body["error"]["type"] == "upstream_error"
    assert "larger than 100000 bytes" in body["error"]["message"]


def test_max_response_bytes_must_be_positive() -> None:
    from pydantic import ValidationError

    from lockgate.config.schema import ProviderConfig

    url = "http://127.0.0.1:9/v1"
    assert ProviderConfig(base_url=url).max_response_bytes == 128 * 1024 * 1024
    with pytest.raises(ValidationError, match="max_response_bytes"):
        ProviderConfig(base_url=url, max_response_bytes=0)
