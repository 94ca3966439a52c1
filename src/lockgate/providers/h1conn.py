"""One upstream HTTP/1.1 connection: an asyncio Protocol feeding httptools (llhttp), the request's
timers, and the response whose body it streams with flow control. ``h1.H1Pool`` owns these; the
connection's phase says who holds it (the pool when idle, ``post()`` until the head, then the
response). See ``lockgate.providers.h1`` for the semantics callers rely on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, cast

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser
from multidict import CIMultiDict, CIMultiDictProxy

from lockgate.providers.base import UpstreamBodyError, UpstreamConnectError, UpstreamReadTimeout

if TYPE_CHECKING:
    from lockgate.providers.h1 import H1Pool

HIGH_WATER = 256 * 1024  # buffered, unconsumed body bytes above which reading is paused
_COALESCE = 64 * 1024  # bodies up to this size are sent in one write with the head

IDLE, HEAD, BODY, DONE, DEAD = range(5)  # connection phases


class H1Error(Exception):
    """Base of every error the client raises."""


class H1ConnectError(H1Error, UpstreamConnectError):
    """No connection: DNS, refused, TLS handshake, timeout, pool closed. The request was NOT sent."""


class H1ConnectTimeout(H1ConnectError, TimeoutError):
    """Connect timeout, or no pooled connection free within the total timeout (request not sent)."""


class H1ReadTimeout(H1Error, UpstreamReadTimeout, TimeoutError):
    """No byte for ``read_timeout`` seconds, or ``total_timeout`` passed."""


class H1BodyError(H1Error, UpstreamBodyError):
    """The request was sent; the connection was lost or the response was malformed."""


class H1BodyTooLarge(H1BodyError):
    """A body read whole passed the caller's limit; the connection was dropped."""


class StaleConnection(H1BodyError):
    """A reused connection closed before any response byte (the keep-alive race): retried once."""


EXPIRED = H1BodyError("idle connection expired")  # closes idle connections, never raised


def _keepalive_timeout(value: str) -> float | None:
    """``timeout=N`` from a ``Keep-Alive`` response header, or None."""
    for part in value.split(","):
        key, sep, num = part.partition("=")
        if sep and key.strip().lower() == "timeout":
            try:
                return float(num.strip())
            except ValueError:
                return None
    return None


def _why(exc: BaseException | None) -> str:
    return "" if exc is None else f": {exc}"


class H1Response:
    """A response whose head has arrived; the body is read with ``read()`` or ``iter_chunks()``."""

    __slots__ = ("_chunks", "_conn", "_done", "_exc", "_size", "_unbounded", "_waiter", "headers", "status")

    def __init__(self, status: int, headers: CIMultiDictProxy[str], conn: H1Connection | None) -> None:
        self.status, self.headers, self._conn = status, headers, conn  # _conn: while the body arrives
        self._chunks: list[bytes] = []
        self._size, self._done, self._unbounded = 0, conn is None, False  # _unbounded: read() never pauses
        self._exc: H1Error | None = None
        self._waiter: asyncio.Future[None] | None = None

    async def read(self, limit: int | None = None) -> bytes:
        """The whole (de-chunked) body not yet consumed.  Past ``limit`` bytes the connection
        is dropped and ``H1BodyTooLarge`` raised (at most one socket read beyond it is held)."""
        if not self._done:
            self._unbounded = True
            conn = self._conn
            if conn is not None:
                conn._resume()
            while not self._done and (limit is None or self._size <= limit):
                await self._wait()
        if limit is not None and self._size > limit:
            self.close()
            self._chunks.clear()
            self._size = 0
            raise H1BodyTooLarge(f"the answer is larger than {limit} bytes")
        if self._exc is not None:
            raise self._exc
        return self._take() if self._chunks else b""

    def iter_chunks(self) -> AsyncIterator[bytes]:
        """Body pieces as they arrive (everything buffered at each step), then the error if any."""
        return self

    def __aiter__(self) -> H1Response:
        return self

    async def __anext__(self) -> bytes:
        while not self._chunks:
            if self._done:
                if self._exc is not None:
                    raise self._exc
                raise StopAsyncIteration
            await self._wait()
        return self._take()

    def release(self) -> None:
        """Done with the response: if its body has not fully arrived, close the connection."""
        conn = self._conn
        if conn is not None:
            conn._fail(H1BodyError("response released before its body was fully read"))

    def close(self) -> None:
        """Abort the connection now unless the response is complete (stops an upstream generation)."""
        conn = self._conn
        if conn is not None:
            conn._fail(H1BodyError("response closed before its body was fully read"))

    def _feed(self, data: bytes) -> bool:
        self._chunks.append(data)
        self._size += len(data)
        self._wake()
        return self._size > HIGH_WATER and not self._unbounded

    def _end(self, exc: H1Error | None) -> None:
        self._done = True
        self._exc = exc
        self._conn = None
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _take(self) -> bytes:
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._size = 0
        conn = self._conn
        if conn is not None:
            conn._resume()
        return data

    async def _wait(self) -> None:
        if self._waiter is not None:
            raise RuntimeError("another coroutine is already reading this response")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None


class H1Connection(asyncio.Protocol):
    """One upstream connection; its phase says who owns it (pool, post(), or a response)."""

    __slots__ = (
        "_bogus", "_deadline", "_got_data", "_hdrs", "_head_fut", "_http11", "_idle_since",
        "_interim", "_ka", "_keep", "_last", "_loop", "_lost", "_max_idle", "_parser", "_paused", "_phase",
        "_pool", "_resp", "_reused", "_seen", "_transport", "_until_close",
    )  # fmt: skip

    def __init__(self, pool: H1Pool) -> None:
        self._pool, self._loop, self._parser = pool, asyncio.get_running_loop(), HttpResponseParser(self)
        self._phase, self._idle_since, self._max_idle, self._last = IDLE, 0.0, pool._keepalive, 0.0
        self._lost = self._reused = self._paused = self._got_data = self._interim = False
        self._bogus = self._keep = self._http11 = self._until_close = self._seen = False
        self._head_fut: asyncio.Future[H1Response] | None = None
        self._resp: H1Response | None = None
        self._deadline: float | None = None
        self._ka: float | None = None
        self._hdrs: list[tuple[bytes, bytes]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        phase = self._phase
        if phase != HEAD and phase != BODY:
            if phase == IDLE:
                self._fail(H1BodyError("unexpected data on an idle connection"))
            return
        self._got_data = self._seen = True
        try:
            self._parser.feed_data(data)
        except (HttpParserError, HttpParserUpgrade) as exc:
            if self._phase == DONE:  # garbage after a complete response: keep the response
                self._complete(False)
            else:
                self._fail(H1BodyError(f"malformed response from upstream: {exc!r}"))
            return
        if self._phase == DONE:
            self._complete(self._keep and not self._bogus)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        phase = self._phase
        if phase == HEAD:
            if self._reused and not self._got_data:
                self._fail(StaleConnection(f"idle connection closed by upstream{_why(exc)}"))
            else:
                self._fail(H1BodyError(f"connection closed before the response head{_why(exc)}"))
        elif phase == BODY:
            if exc is None and self._until_close:
                self._complete(False)
            else:
                self._fail(H1BodyError(f"connection closed before the body was complete{_why(exc)}"))
        elif phase == IDLE:
            self._phase = DEAD
            self._pool._forget_idle(self)
        del self._parser  # the parser refers back to this protocol: break the cycle

    def on_message_begin(self) -> None:
        if self._phase != HEAD:
            self._bogus = True  # a second response to one request

    def on_header(self, name: bytes, value: bytes) -> None:
        self._hdrs.append((name, value))  # (a chunked body's trailers land here too, and are dropped)

    def on_headers_complete(self) -> None:
        parser, raw = self._parser, self._hdrs
        status = parser.get_status_code()
        if status < 200:  # 1xx interim response: the real one follows
            self._interim = True
            raw.clear()
            return
        headers = CIMultiDict([(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw])
        raw.clear()
        self._http11 = parser.get_http_version() == "1.1"
        keepalive = headers.get("keep-alive")
        self._ka = None if keepalive is None else _keepalive_timeout(keepalive)
        # llhttp says "not keep-alive" whenever the body ends with the connection (and on Connection: close)
        self._until_close = (
            not parser.should_keep_alive()
            and status != 204
            and status != 304
            and "content-length" not in headers
            and "chunked" not in headers.get("transfer-encoding", "").lower()
        )
        resp = H1Response(status, CIMultiDictProxy(headers), self)
        self._resp = resp
        self._phase = BODY
        fut = self._head_fut
        self._head_fut = None
        if fut is not None and not fut.done():
            fut.set_result(resp)

    def on_body(self, body: bytes) -> None:
        resp = self._resp
        if resp is not None and resp._feed(body) and not self._paused:
            self._paused = True
            self._transport.pause_reading()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self._phase != BODY:
            self._bogus = True
            return
        self._phase = DONE
        self._keep = self._http11 and self._parser.should_keep_alive()

    def _send(self, head: bytes, body: bytes, deadline: float | None) -> asyncio.Future[H1Response]:
        loop = self._loop
        fut: asyncio.Future[H1Response] = loop.create_future()
        self._head_fut = fut
        self._phase = HEAD
        self._hdrs.clear()
        self._got_data = self._interim = self._bogus = False
        self._ka = None
        self._deadline = deadline
        try:
            if len(body) <= _COALESCE:
                self._transport.write(head + body)
            else:
                self._transport.writelines((head, body))
        except (OSError, RuntimeError) as exc:  # the transport closed under us
            if self._reused:
                self._fail(StaleConnection(f"idle connection closed by upstream: {exc}"))
            else:
                self._fail(H1ConnectError(f"cannot send the request: {exc}"))
            return fut
        self._seen = True
        return fut

    def _check(self, now: float) -> None:
        """The pool's tick: the timeouts of a request in flight, the expiry of an idle connection."""
        phase = self._phase
        if phase == IDLE:
            if now - self._idle_since >= self._max_idle:
                self._fail(EXPIRED)
            return
        if phase != HEAD and phase != BODY:
            return
        pool = self._pool
        if self._deadline is not None and now >= self._deadline:
            self._fail(H1ReadTimeout(f"no complete response from {pool._origin} within {pool._total}s"))
        elif self._seen or self._paused:  # bytes since the last tick, or a consumer that is behind
            self._seen = False
            self._last = now
        elif pool._read_timeout is not None and now - self._last >= pool._read_timeout:
            self._fail(H1ReadTimeout(f"no data from {pool._origin} for {pool._read_timeout}s"))

    def _resume(self) -> None:
        if self._paused and self._phase == BODY:
            self._paused = False
            self._seen = True
            self._transport.resume_reading()

    def _complete(self, reusable: bool) -> None:
        """The whole response arrived: hand the connection back to the pool or close it."""
        resp = self._resp
        self._resp = None
        if resp is not None:
            resp._end(None)
        pool = self._pool
        ka = self._ka
        self._max_idle = pool._keepalive if ka is None else min(pool._keepalive, ka - 1.0)
        if reusable and not self._lost and not pool._closed and self._max_idle > 0:
            if self._paused:
                self._paused = False
                self._transport.resume_reading()
            self._phase = IDLE
            self._reused = True
            pool._put(self)
        else:
            self._phase = DEAD
            if not self._lost:
                self._transport.close()
            pool._drop(self)

    def _fail(self, err: H1Error) -> None:
        """Abort the connection. In the head phase post() owns the clean-up; otherwise done here."""
        phase = self._phase
        if phase == DEAD:
            return
        self._phase = DEAD
        if not self._lost:
            self._transport.abort()
        if phase == HEAD:
            fut = self._head_fut
            self._head_fut = None
            if fut is not None and not fut.done():
                fut.set_exception(err)
            return
        resp = self._resp
        self._resp = None
        if resp is not None:
            resp._end(err)
        if phase == IDLE:
            self._pool._forget_idle(self)
        else:
            self._pool._drop(self)

    def _usable(self, now: float) -> bool:
        return (
            self._phase == IDLE
            and now - self._idle_since < self._max_idle
            and not self._transport.is_closing()
        )
