"""A loopback capture server that stands in for an Anthropic / OpenAI endpoint.

It records every request (method, path, query, headers with secrets masked, JSON body) and
answers with the smallest reply each protocol's clients accept:

- ``POST .../v1/messages``: an Anthropic SSE stream (``message_start``, one text block,
  ``message_delta`` with ``end_turn`` and usage, ``message_stop``), or a JSON message when
  ``stream`` is false.
- ``POST .../v1/messages/count_tokens``: ``{"input_tokens": N}``.
- ``POST .../v1/responses``: a Responses SSE stream (``response.created`` ... ``response.completed``,
  each event with ``type`` and ``sequence_number``), or a JSON response when ``stream`` is false.
- anything else: 404 with an error body, and still recorded.

It runs on an event loop of its own on a background thread, so that synchronous tests can run
a CLI with ``subprocess.run`` while it answers.  ``python -m tests.agents.capture --out FILE``
serves on a fixed port until interrupted and writes what it saw to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import importlib
import json
import re
import signal
import threading
import time
import uuid
import zlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

REPLY_TEXT = "Hi from the capture server."

# Header names whose values are never recorded.
_SECRET_HEADERS = {"authorization", "x-api-key", "api-key", "cookie", "proxy-authorization"}


def _mask_headers(headers: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        low = name.lower()
        if low in _SECRET_HEADERS or "token" in low or "secret" in low:
            scheme = value.split(" ", 1)[0] if low.endswith("authorization") and " " in value else ""
            out[low] = f"{scheme} <redacted>".strip()
        else:
            out[low] = value
    return out


def _decode_body(raw: bytes, encoding: str) -> bytes:
    encoding = encoding.lower().strip()
    if encoding == "gzip":
        return gzip.decompress(raw)
    if encoding == "deflate":
        return zlib.decompress(raw)
    if encoding == "zstd":
        try:
            zstandard = importlib.import_module("zstandard")
        except ImportError:
            return raw
        return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(raw))
    return raw


def scrub(records: list[dict[str, Any]], replacements: dict[str, str]) -> list[dict[str, Any]]:
    """Captured requests fit to commit: each key of ``replacements`` (a secret, a temp path, a
    machine id) is replaced by its value everywhere, the loopback port is masked and the
    receive times are dropped."""
    text = json.dumps([{k: v for k, v in r.items() if k != "time"} for r in records], ensure_ascii=False)
    for old, new in sorted(replacements.items(), key=lambda kv: -len(kv[0])):
        if old:
            text = text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    return list(json.loads(text))


def _rough_tokens(body: Any) -> int:
    return max(1, len(json.dumps(body)) // 4) if body is not None else 1


class CaptureServer:
    """Serve on 127.0.0.1 (``port=0``: a free port) from a background thread."""

    def __init__(self, reply_text: str = REPLY_TEXT, port: int = 0, host: str = "127.0.0.1") -> None:
        self.reply_text = reply_text
        self.host = host
        self.port = port
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> CaptureServer:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="capture", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # the bound socket tells the real port when port=0
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._loop is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> CaptureServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what was seen ---------------------------------------------------------------------

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(json.loads(json.dumps(self.requests)))

    def paths(self) -> list[str]:
        return [f"{r['method']} {r['path']}" for r in self.snapshot()]

    def dump(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.snapshot(), fh, indent=2, ensure_ascii=False)
            fh.write("\n")

    # -- handlers --------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        decoded = _decode_body(raw, request.headers.get("Content-Encoding", ""))
        body: Any = None
        if decoded:
            try:
                body = json.loads(decoded)
            except ValueError:
                body = {"_unparsed": decoded[:2000].decode("utf-8", "replace"), "_bytes": len(decoded)}
        record = {
            "time": time.time(),
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": _mask_headers(request.headers),
            "body": body,
        }
        with self._lock:
            self.requests.append(record)

        path = request.path.rstrip("/")
        if request.method == "POST" and path.endswith("/messages/count_tokens"):
            return web.json_response({"input_tokens": _rough_tokens(body)})
        if request.method == "POST" and path.endswith("/messages"):
            return await self._messages(request, body if isinstance(body, dict) else {})
        if request.method == "POST" and path.endswith("/responses"):
            return await self._responses(request, body if isinstance(body, dict) else {})
        if request.method == "HEAD":
            return web.Response(status=200)
        return web.json_response(
            {"type": "error", "error": {"type": "not_found_error", "message": f"no route {request.path}"}},
            status=404,
        )

    # Anthropic Messages --------------------------------------------------------------------

    async def _messages(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        msg_id = f"msg_{uuid.uuid4().hex[:24]}"
        model = body.get("model", "capture-model")
        in_tok = _rough_tokens(body.get("messages"))
        out_tok = max(1, len(self.reply_text) // 4)
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": self.reply_text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": in_tok, "output_tokens": out_tok},
                }
            )
        events: list[tuple[str, dict[str, Any]]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": msg_id,
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": in_tok, "output_tokens": 1},
                    },
                },
            ),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            ("ping", {"type": "ping"}),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": self.reply_text},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": out_tok},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return await self._sse(request, ((name, data) for name, data in events))

    # OpenAI Responses ----------------------------------------------------------------------

    async def _responses(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        resp_id = f"resp_{uuid.uuid4().hex[:24]}"
        item_id = f"msg_{uuid.uuid4().hex[:24]}"
        model = body.get("model", "capture-model")
        in_tok = _rough_tokens(body.get("input"))
        out_tok = max(1, len(self.reply_text) // 4)
        usage = {
            "input_tokens": in_tok,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": out_tok,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": in_tok + out_tok,
        }
        part = {"type": "output_text", "text": self.reply_text, "annotations": []}
        item_done = {
            "id": item_id,
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [part],
        }

        def response(status: str, output: list[Any], with_usage: bool) -> dict[str, Any]:
            return {
                "id": resp_id,
                "object": "response",
                "created_at": int(time.time()),
                "status": status,
                "model": model,
                "output": output,
                "usage": usage if with_usage else None,
                "error": None,
                "incomplete_details": None,
            }

        if not body.get("stream"):
            return web.json_response(response("completed", [item_done], True))

        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": response("in_progress", [], False)},
            {"type": "response.in_progress", "response": response("in_progress", [], False)},
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {
                    "id": item_id,
                    "type": "message",
                    "role": "assistant",
                    "status": "in_progress",
                    "content": [],
                },
            },
            {
                "type": "response.content_part.added",
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": []},
            },
            {
                "type": "response.output_text.delta",
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "delta": self.reply_text,
            },
            {
                "type": "response.output_text.done",
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "text": self.reply_text,
            },
            {
                "type": "response.content_part.done",
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "part": part,
            },
            {"type": "response.output_item.done", "output_index": 0, "item": item_done},
            {"type": "response.completed", "response": response("completed", [item_done], True)},
        ]
        for seq, event in enumerate(events):
            event["sequence_number"] = seq
        return await self._sse(request, ((e["type"], e) for e in events))

    async def _sse(self, request: web.Request, events: Any) -> web.StreamResponse:
        resp = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "request-id": "req_capture",
            },
        )
        await resp.prepare(request)
        async for chunk in _aiter(events):
            name, data = chunk
            await resp.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        await resp.write_eof()
        return resp


async def _aiter(items: Any) -> AsyncIterator[Any]:
    for item in items:
        yield item
        await asyncio.sleep(0)


def main() -> None:
    parser = argparse.ArgumentParser(description="Log what an LLM client sends; answer minimally.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--out", help="write the captured requests here (JSON) on exit")
    parser.add_argument("--reply", default=REPLY_TEXT)
    args = parser.parse_args()
    server = CaptureServer(reply_text=args.reply, port=args.port).start()
    print(f"capture: serving on {server.url}", flush=True)
    done = threading.Event()
    # A background job in a non-interactive shell ignores SIGINT: stop on SIGTERM too.
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    finally:
        if args.out:
            server.dump(args.out)
        server.stop()


if __name__ == "__main__":
    main()
