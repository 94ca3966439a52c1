"""Relay an upstream SSE stream to the client as it arrives.

* Events are forwarded one by one, never buffered beyond an incomplete event.
* lockgate always asks upstream for usage; the usage-only chunk (``choices: []`` or
  ``null``) is dropped, and ``usage`` removed from other chunks, when the client did not ask.
* A client that goes away closes the upstream connection, which stops the generation.
* A failure after the first byte (upstream cut, read time-out, malformed end) ends the
  stream with an in-band ``error`` event followed by ``[DONE]``: the HTTP status is already
  sent, so there is no fallback mid-stream; the client sees an explicit, incomplete end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from lockgate.providers.base import UpstreamResponse

DONE = b"data: [DONE]"
# Optional rewrite of each parsed chunk (e.g. restoring redacted values); returns the chunk.
ChunkHook = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(slots=True)
class StreamResult:
    usage: dict[str, Any] | None = None
    ttft_ms: float | None = None
    completed: bool = False
    client_gone: bool = False
    error: str | None = None
    sha256: Any = None


def _error_event(message: str, code: str) -> bytes:
    err = {"error": {"message": message, "type": "upstream_error", "param": None, "code": code}}
    return b"data: " + orjson.dumps(err) + b"\n\n"


class SSERelay:
    def __init__(self, include_usage: bool, hook: ChunkHook | None, hasher: Any) -> None:
        self.include_usage = include_usage
        self.hook = hook
        self.hasher = hasher
        self.result = StreamResult()

    def _rewrite(self, event: bytes) -> bytes | None:
        """Return the bytes to send for one event (None to drop it)."""
        if not event.startswith(b"data:"):
            return event + b"\n\n"
        payload = event[5:].strip()
        if payload == b"[DONE]":
            self.result.completed = True
            return DONE + b"\n\n"
        needs_parse = self.hook is not None or b'"usage"' in payload
        if not needs_parse:
            return event + b"\n\n"
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return event + b"\n\n"
        if not isinstance(chunk, dict):
            return event + b"\n\n"
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.result.usage = usage
            if not self.include_usage:
                if not chunk.get("choices"):
                    return None
                chunk.pop("usage", None)
        if self.hook is not None:
            chunk = self.hook(chunk)
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    def _passthrough(self, piece: bytes) -> bool:
        return (
            self.hook is None
            and piece.endswith(b"\n\n")
            and piece.startswith(b"data:")
            and b'"usage"' not in piece
            and b"[DONE]" not in piece
            and b"\r" not in piece
        )

    async def run(
        self, request: web.Request, resp: web.StreamResponse, upstream: UpstreamResponse, t0: float
    ) -> None:
        buf = b""
        try:
            async for piece in upstream.iter_chunks():
                if not buf and self._passthrough(piece):
                    # fast path: whole events that need no rewrite are forwarded as they are
                    if self.result.ttft_ms is None:
                        self.result.ttft_ms = (time.perf_counter() - t0) * 1000.0
                    self.hasher.update(piece)
                    await resp.write(piece)
                    continue
                buf += piece
                if b"\n\n" not in buf and b"\r\n\r\n" not in buf:
                    continue
                if b"\r\n" in buf:
                    buf = buf.replace(b"\r\n", b"\n")
                *events, buf = buf.split(b"\n\n")
                out = bytearray()
                for ev in events:
                    if ev:
                        rewritten = self._rewrite(ev)
                        if rewritten is not None:
                            out += rewritten
                if out:
                    if self.result.ttft_ms is None:
                        self.result.ttft_ms = (time.perf_counter() - t0) * 1000.0
                    self.hasher.update(out)
                    await resp.write(bytes(out))
            if buf.strip():
                tail = self._rewrite(buf.strip())
                if tail is not None:
                    await resp.write(tail)
            if not self.result.completed:
                self.result.error = "upstream ended the stream without [DONE]"
                await resp.write(
                    _error_event(
                        "The upstream ended the stream early; the answer is incomplete.", "stream_incomplete"
                    )
                    + DONE
                    + b"\n\n"
                )
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            self.result.client_gone = True
            upstream.close()
            return
        except (TimeoutError, aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
            self.result.error = f"upstream failed mid-stream: {type(exc).__name__}"
            try:
                await resp.write(
                    _error_event(
                        "The upstream failed mid-stream; the answer is incomplete. Retry the request.",
                        "stream_interrupted",
                    )
                    + DONE
                    + b"\n\n"
                )
            except (ConnectionResetError, aiohttp.ClientConnectionResetError):
                self.result.client_gone = True
            upstream.close()
            return
        except asyncio.CancelledError:
            self.result.client_gone = True
            upstream.close()
            raise
        upstream.release()
