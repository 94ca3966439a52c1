"""The transport seam: how a provider's HTTP requests reach its upstream.

A provider asks its transport to POST a body and gets an ``UpstreamResponse`` back; it never
touches a client library.  Transports register here, by name, and a provider's
``transport`` setting picks one (``h1`` unless said otherwise), as httpx lets a client swap
its transport without changing a line of the code that sends requests.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, ClassVar

from lockgate.config.schema import MAX_RESPONSE_BYTES
from lockgate.providers.base import UpstreamResponse

if TYPE_CHECKING:
    from lockgate.config.schema import ProviderConfig, TimeoutConfig


class Transport(abc.ABC):
    """POSTs to any number of upstream base URLs, each with at most ``limit`` connections; a
    body read whole (``UpstreamResponse.read``) larger than ``max_body`` bytes is refused with
    ``UpstreamBodyError`` once that many have arrived, and the connection is dropped."""

    name: ClassVar[str]

    def __init__(self, limit: int, timeouts: TimeoutConfig, max_body: int = MAX_RESPONSE_BYTES) -> None:
        self.limit = limit
        self.timeouts = timeouts
        self.max_body = max_body

    @abc.abstractmethod
    async def post(
        self,
        base_url: str,
        path: str,
        body: bytes,
        headers: Mapping[str, str],
        release_hook: Callable[[], None] | None = None,
    ) -> UpstreamResponse:
        """POST ``body`` to ``base_url + path``; returns once the status line and headers are in.

        Raises ``UpstreamConnectError`` (nothing usable came back) or ``UpstreamReadTimeout``.
        ``release_hook`` runs once, when the response is released or closed.
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """Close every connection."""


TRANSPORTS: dict[str, type[Transport]] = {}


def register_transport(cls: type[Transport]) -> type[Transport]:
    TRANSPORTS[cls.name] = cls
    return cls


def open_transport(
    name: str, limit: int, timeouts: TimeoutConfig, max_body: int = MAX_RESPONSE_BYTES
) -> Transport:
    if not TRANSPORTS:
        from lockgate.providers.transport_aiohttp import AiohttpTransport
        from lockgate.providers.transport_h1 import H1Transport

        for builtin in (H1Transport, AiohttpTransport):
            register_transport(builtin)
    cls = TRANSPORTS.get(name)
    if cls is None:  # the config schema lists the names; this guards plugins' typos
        raise ValueError(f"unknown transport {name!r} (known: {', '.join(sorted(TRANSPORTS))})")
    return cls(limit, timeouts, max_body)


def transport_for(config: ProviderConfig) -> Transport:
    """The transport a provider's settings ask for."""
    return open_transport(
        config.transport, config.max_connections, config.timeouts, config.max_response_bytes
    )
