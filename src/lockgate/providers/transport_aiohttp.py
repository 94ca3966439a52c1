"""aiohttp's client as a transport: the general-purpose choice (``transport: aiohttp``).

It costs about ten times the CPU of ``h1`` per request (``bench/upstream_client.py``) and is
kept for upstreams that need what only a full client does.  Its exceptions are translated to
the provider seam's own, so nothing above the providers knows which client ran.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING

import aiohttp

from lockgate.config.schema import MAX_RESPONSE_BYTES
from lockgate.providers.base import (
    UpstreamBodyError,
    UpstreamConnectError,
    UpstreamReadTimeout,
    UpstreamResponse,
)
from lockgate.providers.transport import Transport

if TYPE_CHECKING:
    from lockgate.config.schema import TimeoutConfig


class AiohttpResponse(UpstreamResponse):
    __slots__ = ("_max_body", "_resp")

    def __init__(
        self, resp: aiohttp.ClientResponse, release_hook: Callable[[], None] | None, max_body: int
    ) -> None:
        super().__init__(resp.status, resp.headers, resp, release_hook)
        self._resp, self._max_body = resp, max_body

    async def read(self) -> bytes:
        limit = self._max_body
        try:
            pieces: list[bytes] = []
            size = 0
            async for piece in self._resp.content.iter_any():
                size += len(piece)
                if size > limit:
                    self.close()
                    raise UpstreamBodyError(f"the answer is larger than {limit} bytes")
                pieces.append(piece)
            return b"".join(pieces)
        except TimeoutError as exc:
            raise UpstreamReadTimeout(str(exc) or "timed out reading the upstream's body") from None
        except aiohttp.ClientError as exc:
            raise UpstreamBodyError(f"{type(exc).__name__}: {exc}") from None
        finally:
            self.release()

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        try:
            async for piece in self._resp.content.iter_any():
                yield piece
        except TimeoutError as exc:
            raise UpstreamReadTimeout(str(exc) or "the upstream stopped streaming") from None
        except aiohttp.ClientError as exc:
            raise UpstreamBodyError(f"{type(exc).__name__}: {exc}") from None


class AiohttpTransport(Transport):
    name = "aiohttp"

    def __init__(self, limit: int, timeouts: TimeoutConfig, max_body: int = MAX_RESPONSE_BYTES) -> None:
        super().__init__(limit, timeouts, max_body)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        t = self.timeouts
        connector = aiohttp.TCPConnector(
            limit=self.limit, limit_per_host=self.limit, ttl_dns_cache=300, keepalive_timeout=30
        )
        timeout = aiohttp.ClientTimeout(total=t.total, sock_connect=t.connect, sock_read=t.read)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=False, skip_auto_headers=("User-Agent",)
        )
        return self._session

    async def post(
        self,
        base_url: str,
        path: str,
        body: bytes,
        headers: Mapping[str, str],
        release_hook: Callable[[], None] | None = None,
    ) -> AiohttpResponse:
        session = self._session or self._open()
        try:
            resp = await session.post(base_url + path, data=body, headers=headers)
        except TimeoutError as exc:
            raise UpstreamReadTimeout(str(exc) or "timed out waiting for the upstream") from None
        except aiohttp.ClientError as exc:
            raise UpstreamConnectError(type(exc).__name__) from None
        return AiohttpResponse(resp, release_hook, self.max_body)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
