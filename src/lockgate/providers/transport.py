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

from lockgate.providers.base import UpstreamResponse

if TYPE_CHECKING:
    from lockgate.config.schema import TimeoutConfig


class Transport(abc.ABC):
    """POSTs to any number of upstream base URLs, each with at most ``limit`` connections."""

    name: ClassVar[str]

    def __init__(self, limit: int, timeouts: TimeoutConfig) -> None:
        self.limit = limit
        self.timeouts = timeouts

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


def open_transport(name: str, limit: int, timeouts: TimeoutConfig) -> Transport:
    if not TRANSPORTS:
        from lockgate.providers.transport_aiohttp import AiohttpTransport
        from lockgate.providers.transport_h1 import H1Transport

        for builtin in (H1Transport, AiohttpTransport):
            register_transport(builtin)
    cls = TRANSPORTS.get(name)
    if cls is None:  # the config schema lists the names; this guards plugins' typos
        raise ValueError(f"unknown transport {name!r} (known: {', '.join(sorted(TRANSPORTS))})")
    return cls(limit, timeouts)
