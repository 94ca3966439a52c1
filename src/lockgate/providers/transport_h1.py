"""The default transport (``transport: h1``): ``lockgate.providers.h1``'s lean HTTP/1.1 client,
one connection pool per upstream base URL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from lockgate.config.schema import MAX_RESPONSE_BYTES
from lockgate.providers.base import UpstreamConnectError, UpstreamReadTimeout, UpstreamResponse
from lockgate.providers.h1 import H1BodyError, H1ConnectError, H1Pool, H1ReadTimeout, H1Response
from lockgate.providers.transport import Transport

if TYPE_CHECKING:
    from lockgate.config.schema import TimeoutConfig


class H1UpstreamResponse(UpstreamResponse):
    __slots__ = ("_max_body", "_resp")

    def __init__(self, resp: H1Response, release_hook: Callable[[], None] | None, max_body: int) -> None:
        super().__init__(resp.status, resp.headers, resp, release_hook)
        self._resp, self._max_body = resp, max_body

    async def read(self) -> bytes:
        try:
            data = await self._resp.read(self._max_body)
        except BaseException:
            self.close()
            raise
        self.release()
        return data

    def iter_chunks(self) -> AsyncIterator[bytes]:
        return self._resp.iter_chunks()  # its errors are the seam's (see h1's exception classes)


class H1Transport(Transport):
    name = "h1"

    def __init__(self, limit: int, timeouts: TimeoutConfig, max_body: int = MAX_RESPONSE_BYTES) -> None:
        super().__init__(limit, timeouts, max_body)
        self._pools: dict[str, tuple[H1Pool, str]] = {}

    def _pool(self, base_url: str) -> tuple[H1Pool, str]:
        t = self.timeouts
        pool = H1Pool(base_url, limit=self.limit, connect_timeout=t.connect, read_timeout=t.read,
                      total_timeout=t.total)  # fmt: skip
        got = self._pools[base_url] = (pool, urlsplit(base_url).path.rstrip("/"))
        return got

    async def post(
        self,
        base_url: str,
        path: str,
        body: bytes,
        headers: Mapping[str, str],
        release_hook: Callable[[], None] | None = None,
    ) -> H1UpstreamResponse:
        pool, prefix = self._pools.get(base_url) or self._pool(base_url)
        try:
            resp = await pool.post(prefix + path, body, headers)
        except H1ReadTimeout as exc:
            raise UpstreamReadTimeout(str(exc) or "timed out waiting for the upstream") from None
        except (H1ConnectError, H1BodyError) as exc:  # nothing usable came back: the router may retry
            raise UpstreamConnectError(f"{type(exc).__name__}: {exc}") from None
        return H1UpstreamResponse(resp, release_hook, self.max_body)

    async def close(self) -> None:
        pools, self._pools = self._pools, {}
        for pool, _ in pools.values():
            await pool.close()
