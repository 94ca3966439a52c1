"""Any OpenAI-compatible HTTP endpoint: vLLM, llama-server, Ollama, SGLang, Mistral, DeepSeek…"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lockgate.providers.base import NativeCall, Provider, UpstreamResponse
from lockgate.providers.transport import Transport, transport_for


class OpenAICompatibleProvider(Provider):
    kind = "openai"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base_url = (self.config.base_url or "").rstrip("/")
        self._transport: Transport | None = None
        headers = {"Content-Type": "application/json"}
        headers.update({k: v.get_secret_value() for k, v in self.config.headers.items()})
        if self.config.api_key is not None and self.config.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self.config.api_key.get_secret_value()}"
        self._headers = headers

    async def start(self) -> None:
        self._transport = transport_for(self.config)

    async def close(self) -> None:
        if self._transport is not None:
            await self._transport.close()
            self._transport = None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "ready": self.is_ready(), "base_url": self.base_url}

    async def send(
        self,
        path: str,
        body: bytes,
        native: NativeCall | None = None,
        *,
        extra: Mapping[str, str] | None = None,
    ) -> UpstreamResponse:
        assert self._transport is not None, "provider used before start()"
        headers = self._headers if native is None else self._native_headers(native)
        if extra:
            headers = {**headers, **extra}
        return await self._transport.post(self.base_url, path, body, headers)

    def _native_headers(self, native: NativeCall) -> dict[str, str]:
        headers = {**self._headers, **native.headers}
        if native.key_header and "Authorization" in headers and self.config.api_key is not None:
            del headers["Authorization"]
            headers[native.key_header] = self.config.api_key.get_secret_value()
        return headers
