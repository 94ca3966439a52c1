"""A lean HTTP/1.1 client for upstream POSTs: an asyncio Protocol per connection, httptools (llhttp)
parsing responses, and a small pool. What a caller can rely on:

* ``H1ConnectError``: the request was NOT sent (DNS, refused, TLS, connect timeout, pool closed, or
  no connection free within the total timeout: ``H1ConnectTimeout``, also a ``TimeoutError``).
  ``H1BodyError``: the request was sent and the response broke (connection lost or malformed
  response, before or after its head). ``H1ReadTimeout``: no byte for ``read_timeout`` s (not
  counted while reading is paused for a slow consumer) or ``total_timeout`` passed.
* The wait for a free connection (FIFO; at most ``limit`` open or opening) is bounded by the total
  timeout only: queueing under load is normal. The connect timeout covers TCP connect plus TLS.
* A reused connection that closes before any response byte is the keep-alive race (the server
  closed the idle socket as the request went out): retried once on a fresh connection. A server
  that took the request and died before its first byte is rare, and the worst case of repeating a
  generation POST is its cost. Fresh connections are never retried.
* A connection goes back to the pool once the whole response has arrived (even if the caller has
  not consumed the buffered body), unless the server said ``Connection: close``, spoke HTTP/1.0
  or ended the body by closing. ``release()``/``close()`` before that abort the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Mapping
from urllib.parse import urlsplit

from lockgate.providers.h1conn import (
    DEAD,
    EXPIRED,
    IDLE,
    H1BodyError,
    H1BodyTooLarge,
    H1ConnectError,
    H1Connection,
    H1ConnectTimeout,
    H1Error,
    H1ReadTimeout,
    H1Response,
    StaleConnection,
)

__all__ = ["H1BodyError", "H1BodyTooLarge", "H1ConnectError", "H1ConnectTimeout", "H1Error", "H1Pool", "H1ReadTimeout",
           "H1Response"]  # fmt: skip

_HEAD_CACHE = 256  # request heads kept per pool (the gateway sends a few header sets, over and over)
_POOL_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


def _has_crlf(text: str) -> bool:
    return "\r" in text or "\n" in text or "\0" in text


class H1Pool:
    """Connections to one origin, at most ``limit`` of them, reused LIFO."""

    def __init__(self, base_url: str, *, limit: int, connect_timeout: float, read_timeout: float | None,
                 total_timeout: float | None, keepalive: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:  # fmt: skip
        try:
            parts = urlsplit(base_url)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"invalid upstream URL {base_url!r}: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"invalid upstream URL {base_url!r}: the scheme must be http or https")
        if not parts.hostname:
            raise ValueError(f"invalid upstream URL {base_url!r}: no host")
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        for name, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout),
                            ("total_timeout", total_timeout), ("keepalive", keepalive)):  # fmt: skip
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive, not {value}")
        tls = parts.scheme == "https"
        default_port = 443 if tls else 80
        self._host = parts.hostname
        self._port = port or default_port
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._host_value = host if self._port == default_port else f"{host}:{self._port}"
        self._origin = f"{parts.scheme}://{host}:{self._port}"
        self._ssl = (ssl_context or ssl.create_default_context()) if tls else None
        self._limit = limit
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._total = total_timeout
        self._keepalive = keepalive
        self._idle: deque[H1Connection] = deque()
        self._waiters: deque[asyncio.Future[H1Connection | None]] = deque()
        self._conns: set[H1Connection] = set()
        self._n = 0  # connections open or opening (the slots in use)
        self._closed = False
        # one timer per pool checks timeouts and idle expiry while connections are open: none per request
        self._tick = min(1.0, max(0.01, min(t for t in (read_timeout, total_timeout, keepalive) if t) / 4))
        self._ticker: asyncio.TimerHandle | None = None
        self._heads: dict[tuple[object, ...], bytes] = {}

    async def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> H1Response:
        """Send a POST; return once the status line and headers have arrived."""
        key = (path, *headers.items())
        prefix = self._heads.get(key)
        if prefix is None:
            prefix = self._head(path, headers)
            if len(self._heads) >= _HEAD_CACHE:
                self._heads.clear()
            self._heads[key] = prefix
        head = b"%sContent-Length: %d\r\n\r\n" % (prefix, len(body))
        loop = asyncio.get_running_loop()
        deadline = None if self._total is None else loop.time() + self._total
        idle = self._idle
        conn = idle.pop() if idle else None  # the common case, without a coroutine call
        if conn is None or not conn._usable(loop.time()):
            if conn is not None:
                conn._fail(EXPIRED)
            conn = await self._acquire(loop, deadline)
        try:
            return await conn._send(head, body, deadline)
        except StaleConnection:
            self._conns.discard(conn)  # its slot goes to the fresh connection
        except BaseException:
            self._abandon(conn)
            raise
        conn = await self._connect(loop, deadline)
        try:
            return await conn._send(head, body, deadline)
        except BaseException:
            self._abandon(conn)
            raise

    async def close(self) -> None:
        """Close every connection; readers get H1BodyError, waiters and later posts H1ConnectError."""
        if self._closed:
            return
        self._closed = True
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(H1ConnectError("pool closed"))
        self._idle.clear()
        conns = list(self._conns)
        self._conns.clear()
        for conn in conns:
            conn._fail(H1BodyError("pool closed"))
        await asyncio.sleep(0)  # let the transports run connection_lost

    def _head(self, path: str, headers: Mapping[str, str]) -> bytes:
        """The request head up to Content-Length, checked once per path and header set (then cached)."""
        if not path.startswith("/") or _has_crlf(path) or " " in path:
            raise ValueError(f"invalid request path {path!r}")
        host = self._host_value
        lines = []
        for name, value in headers.items():
            if not name or _has_crlf(name) or ":" in name or " " in name or _has_crlf(value):
                raise ValueError(f"invalid header {name!r}: names and values must not contain CR or LF")
            low = name.lower()
            if low in _POOL_HEADERS:  # the pool frames the request itself
                if low == "host":
                    host = value
                continue
            lines.append(f"{name}: {value}\r\n")
        text = f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{''.join(lines)}"
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError("the request path and header values must be latin-1 text") from None

    async def _acquire(self, loop: asyncio.AbstractEventLoop, deadline: float | None) -> H1Connection:
        while True:
            if self._closed:
                raise H1ConnectError("pool closed")
            idle = self._idle
            while idle:
                conn = idle.pop()
                if conn._usable(loop.time()):
                    return conn
                conn._fail(EXPIRED)
            if self._n < self._limit:
                self._n += 1
                return await self._connect(loop, deadline)
            got = await self._wait_turn(loop, deadline)
            if got is None:  # a slot was handed over
                return await self._connect(loop, deadline)
            if got._usable(loop.time()):
                return got
            got._fail(EXPIRED)

    async def _wait_turn(
        self, loop: asyncio.AbstractEventLoop, deadline: float | None
    ) -> H1Connection | None:
        waiter: asyncio.Future[H1Connection | None] = loop.create_future()
        self._waiters.append(waiter)
        timer = None if deadline is None else loop.call_at(deadline, self._expire_waiter, waiter)
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._give_back(waiter.result())  # handed over, then cancelled before resuming
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _expire_waiter(self, waiter: asyncio.Future[H1Connection | None]) -> None:
        if not waiter.done():
            waiter.set_exception(
                H1ConnectTimeout(f"no connection to {self._origin} free within {self._total}s")
            )

    def _give_back(self, conn: H1Connection | None) -> None:
        if conn is None:
            self._free_slot()
        elif conn._usable(conn._loop.time()) and not self._closed:
            self._put(conn)
        else:
            conn._fail(EXPIRED)

    async def _connect(self, loop: asyncio.AbstractEventLoop, deadline: float | None) -> H1Connection:
        """Open a connection in a slot already counted in ``_n``; free the slot if that fails."""
        timeout = self._connect_timeout
        if deadline is not None:
            timeout = min(timeout, deadline - loop.time())
        try:
            if self._closed:
                raise H1ConnectError("pool closed")
            if timeout <= 0:
                raise TimeoutError
            tls = self._ssl
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    self._factory, self._host, self._port, ssl=tls, server_hostname=self._host if tls else None,
                    ssl_handshake_timeout=timeout if tls else None,
                )  # fmt: skip
        except BaseException as exc:
            self._free_slot()
            if isinstance(exc, TimeoutError):
                raise H1ConnectTimeout(f"cannot connect to {self._origin} within {timeout:.3g}s") from None
            if isinstance(exc, OSError):
                raise H1ConnectError(f"cannot connect to {self._origin}: {exc}") from exc
            raise
        if self._closed:
            conn._phase = DEAD
            conn._transport.abort()
            self._free_slot()
            raise H1ConnectError("pool closed")
        self._conns.add(conn)
        if self._ticker is None:
            self._ticker = loop.call_later(self._tick, self._on_tick)
        return conn

    def _factory(self) -> H1Connection:
        return H1Connection(self)

    def _abandon(self, conn: H1Connection) -> None:
        """post() failed or was cancelled while ``conn`` carried its request."""
        if conn._phase == IDLE:
            return  # the response completed meanwhile and the connection is back in the pool
        if conn._phase != DEAD:
            conn._fail(H1BodyError("request cancelled"))
        self._drop(conn)

    def _put(self, conn: H1Connection) -> None:
        conn._idle_since = conn._loop.time()
        if self._hand_over(conn):
            return
        self._idle.append(conn)

    def _on_tick(self) -> None:
        self._ticker = None
        if self._closed or not self._conns:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        for conn in list(self._conns):
            conn._check(now)
        if self._conns:
            self._ticker = loop.call_later(self._tick, self._on_tick)

    def _free_slot(self) -> None:
        if not self._hand_over(None):
            self._n -= 1

    def _hand_over(self, conn: H1Connection | None) -> bool:
        """Give the first live waiter a connection, or (None) the slot of one that closed."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    def _drop(self, conn: H1Connection) -> None:
        if conn in self._conns:
            self._conns.discard(conn)
            self._free_slot()

    def _forget_idle(self, conn: H1Connection) -> None:
        with contextlib.suppress(ValueError):  # unless handed to a waiter, or already popped
            self._idle.remove(conn)
        self._drop(conn)
