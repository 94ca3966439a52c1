"""Relay an upstream SSE stream to the client as it arrives.

* Events are forwarded one by one, never buffered beyond an incomplete event.
* lockgate always asks upstream for usage; the usage-only chunk (``choices: []`` or
  ``null``) is dropped, and ``usage`` removed from other chunks, when the client did not ask.
* A client that goes away closes the upstream connection, which stops the generation.
* The record is handed to the audit (``server.ack``) before the last bytes: the usage chunk
  and everything after it are held until ``[DONE]`` (or the end), then sent after the handover.
* A failure after the first byte (upstream cut, read time-out, malformed end) ends the
  stream with an in-band ``error`` event followed by ``[DONE]``: the HTTP status is already
  sent, so there is no fallback mid-stream; the client sees an explicit, incomplete end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson
from aiohttp import web

from lockgate.providers.base import UpstreamBodyError, UpstreamReadTimeout, UpstreamResponse

if TYPE_CHECKING:
    from lockgate.server.ack import Ack

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
        self._last = False

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
            if not chunk.get("choices"):
                self._last = True  # the final usage-only chunk: the stream's closing part begins
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

    async def _final(self, resp: web.StreamResponse, data: bytes, ack: Ack, *, hashed: bool = True) -> None:
        """The stream's last bytes: the record goes to the audit writer first (``server.ack``)."""
        if hashed:
            self.hasher.update(data)
        if self.result.ttft_ms is None:
            self.result.ttft_ms = (time.perf_counter() - ack.t0) * 1000.0
        await ack()
        await resp.write(data)

    def _sort(self, events: list[bytes], held: bytearray) -> bytearray:
        """Rewrite whole events: what may go out now is returned; from the usage chunk on,
        output joins ``held``, to go out after the record is handed over."""
        out = bytearray()
        for ev in events:
            if ev:
                rewritten = self._rewrite(ev)
                if rewritten is not None:
                    if held or self._last or self.result.completed:
                        held += rewritten
                    else:
                        out += rewritten
        return out

    async def _pump(
        self, resp: web.StreamResponse, upstream: UpstreamResponse, ack: Ack, held: bytearray
    ) -> None:
        t0 = ack.t0
        buf = b""
        async for piece in upstream.iter_chunks():
            if not buf and not held and self._passthrough(piece):
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
            out = self._sort(events, held)
            if out:
                if self.result.ttft_ms is None:
                    self.result.ttft_ms = (time.perf_counter() - t0) * 1000.0
                self.hasher.update(out)
                await resp.write(bytes(out))
            if held and self.result.completed:
                await self._final(resp, bytes(held), ack)
                held.clear()
        if buf.strip():
            tail = self._rewrite(buf.strip())
            if tail is not None:
                held += tail
        if not self.result.completed:
            self.result.error = "upstream ended the stream without [DONE]"
            if held:
                self.hasher.update(held)
            held += _error_event(
                "The upstream ended the stream early; the answer is incomplete.", "stream_incomplete"
            )
            held += DONE + b"\n\n"
            await self._final(resp, bytes(held), ack, hashed=False)
        elif held:
            await self._final(resp, bytes(held), ack)

    async def run(
        self, request: web.Request, resp: web.StreamResponse, upstream: UpstreamResponse, ack: Ack
    ) -> None:
        held = bytearray()  # the stream's closing part, sent after the record is handed over
        try:
            await self._pump(resp, upstream, ack, held)
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            self.result.client_gone = True
            upstream.close()
            return
        except (UpstreamBodyError, UpstreamReadTimeout) as exc:
            self.result.error = f"upstream failed mid-stream: {exc}"
            message = "The upstream failed mid-stream; the answer is incomplete. Retry the request."
            try:
                await self._final(
                    resp,
                    bytes(held) + _error_event(message, "stream_interrupted") + DONE + b"\n\n",
                    ack,
                    hashed=False,
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
