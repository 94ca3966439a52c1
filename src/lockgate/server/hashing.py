"""Hashing what a reply sends, for its audit record (and keeping it, with content logging)."""

from __future__ import annotations

import hashlib
from typing import Any

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


class _Collecting:
    """A sha256 hasher that also keeps what it saw (content logging of streamed replies)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._parts: list[bytes] = []

    def update(self, data: bytes) -> None:
        self._hash.update(data)
        self._parts.append(bytes(data))

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def content(self) -> bytes:
        return b"".join(self._parts)


def collecting_hasher(log_content: bool) -> Any:
    return _Collecting() if log_content else hashlib.sha256()
