"""Any OpenAI-compatible HTTP endpoint: vLLM, llama-server, Ollama, SGLang, Mistral, DeepSeek…"""

from __future__ import annotations

from typing import Any

import aiohttp

from lockgate.providers.base import (
    NativeCall,
    Provider,
    UpstreamConnectError,
    UpstreamReadTimeout,
    UpstreamResponse,
)


def client_session(limit: int, connect: float, read: float, total: float | None) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=limit, limit_per_host=limit, ttl_dns_cache=300, keepalive_timeout=30
    )
    timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)
    return aiohttp.ClientSession(
        connector=connector, timeout=timeout, auto_decompress=False, skip_auto_headers=("User-Agent",)
    )


async def post(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], release_hook: Any = None
) -> UpstreamResponse:
    try:
        resp = await session.post(url, data=body, headers=headers)
    except TimeoutError as exc:
        raise UpstreamReadTimeout(str(exc) or "timed out waiting for the upstream") from None
    except aiohttp.ClientError as exc:
        raise UpstreamConnectError(type(exc).__name__) from None
    return UpstreamResponse(resp, release_hook)


class OpenAICompatibleProvider(Provider):
    kind = "openai"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base_url = (self.config.base_url or "").rstrip("/")
        self._session: aiohttp.ClientSession | None = None
        headers = {"Content-Type": "application/json"}
        headers.update({k: v.get_secret_value() for k, v in self.config.headers.items()})
        if self.config.api_key is not None and self.config.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self.config.api_key.get_secret_value()}"
        self._headers = headers

    async def start(self) -> None:
        t = self.config.timeouts
        self._session = client_session(self.config.max_connections, t.connect, t.read, t.total)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "ready": self.is_ready(), "base_url": self.base_url}

    async def send(self, path: str, body: bytes, native: NativeCall | None = None) -> UpstreamResponse:
        assert self._session is not None, "provider used before start()"
        headers = self._headers if native is None else self._native_headers(native)
        return await post(self._session, self.base_url + path, body, headers)

    def _native_headers(self, native: NativeCall) -> dict[str, str]:
        headers = {**self._headers, **native.headers}
        if native.key_header and "Authorization" in headers and self.config.api_key is not None:
            del headers["Authorization"]
            headers[native.key_header] = self.config.api_key.get_secret_value()
        return headers
