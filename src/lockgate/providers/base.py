"""The provider seam: everything lockgate forwards to implements ``Provider``.

A provider owns its connections (and, for local engines, its child processes).  The router
never asks what kind a provider is; it calls ``send`` and reads an ``UpstreamResponse``.
New kinds register in ``lockgate.providers.registry`` (or through the ``lockgate.providers``
entry-point group), like transports in httpx or model plugins in llm.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from lockgate.providers.capacity import REMOTE, MeasuredCapacity

if TYPE_CHECKING:
    from lockgate.config.schema import DeploymentConfig, GatewayConfig, ProviderConfig


class UpstreamConnectError(Exception):
    """The upstream could not be reached (refused, reset, DNS) before any response."""


class UpstreamReadTimeout(Exception):
    """The upstream did not answer (or stopped streaming) within the read timeout."""


class UpstreamBodyError(Exception):
    """The upstream's connection broke, or its framing was malformed, after the status line."""


@dataclass(frozen=True, slots=True)
class NativeCall:
    """Extra headers for a natively spoken protocol, and how it wants the key sent."""

    headers: dict[str, str]
    key_header: str | None = None  # e.g. "x-api-key"; None keeps "Authorization: Bearer"


class Releasable(Protocol):
    """What a transport's own response offers for the connection under it."""

    def release(self) -> None: ...

    def close(self) -> None: ...


class UpstreamResponse(abc.ABC):
    """A response whose body has not been read yet (so streams can be relayed as they arrive).

    Each transport (``lockgate.providers.transport``) has its own subclass.  ``read`` and
    ``iter_chunks`` raise only ``UpstreamBodyError`` or ``UpstreamReadTimeout`` when the
    upstream fails after its status line, whatever the transport underneath.
    """

    __slots__ = ("_conn", "_release_hook", "headers", "status")

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str],
        conn: Releasable,
        release_hook: Callable[[], None] | None,
    ) -> None:
        self.status = status
        self.headers = headers  # case-insensitive
        self._conn = conn  # the client's own response: what gives the connection back or drops it
        self._release_hook = release_hook

    @abc.abstractmethod
    async def read(self) -> bytes:
        """The whole body; the connection is released (or closed, on error) afterwards."""

    @abc.abstractmethod
    def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body's pieces as they arrive."""

    def release(self) -> None:
        """Return the connection to the pool (body fully read).  Idempotent."""
        self._conn.release()
        self._done()

    def close(self) -> None:
        """Abort the upstream connection unless it was released already (a no-op then), e.g.
        when the client went away; this also stops the generation upstream.  Idempotent."""
        self._conn.close()
        self._done()

    def _done(self) -> None:
        hook, self._release_hook = self._release_hook, None
        if hook is not None:
            hook()


class Provider(abc.ABC):
    kind: ClassVar[str]

    def __init__(self, name: str, config: ProviderConfig, gateway: GatewayConfig) -> None:
        self.name = name
        self.config = config
        self.gateway = gateway

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open connections, start child processes.  Called once before serving."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release everything started by ``start``."""

    def is_ready(self) -> bool:
        """Cheap, synchronous: may requests be sent now?"""
        return True

    async def probe(self) -> bool:
        """Active readiness check (used by /readyz); defaults to ``is_ready``."""
        return self.is_ready()

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "ready": self.is_ready()}

    def for_deployment(self, deployment: DeploymentConfig) -> Provider:
        """What a deployment on this provider sends through: the provider itself, or a view of it
        bound to something of that deployment's (a local engine's LoRA adapter)."""
        return self

    @property
    def variant(self) -> str | None:
        """What sets this view's answers apart from its provider's others for the same model (a
        LoRA adapter's id); part of the deployment's name. None for the provider itself."""
        return None

    def capacity(self) -> MeasuredCapacity:
        """What this provider has measured of its capacity; a remote API measures nothing."""
        return MeasuredCapacity.unmeasured(REMOTE)

    @abc.abstractmethod
    async def send(
        self,
        path: str,
        body: bytes,
        native: NativeCall | None = None,
        *,
        extra: Mapping[str, str] | None = None,
    ) -> UpstreamResponse:
        """POST ``body`` (JSON) to ``path`` (e.g. ``/chat/completions``) upstream.

        ``extra`` holds per-request headers that go along (the trace context of the attempt).

        ``native`` is set when the body is in a client protocol this provider speaks itself
        (see ``native_path``): its headers go along, and its key header replaces the bearer token.
        Raises ``UpstreamConnectError`` or ``UpstreamReadTimeout``; HTTP errors are returned
        as responses with their status for the router to classify.
        """

    def native_path(self, protocol: str) -> str | None:
        """The path at which this upstream speaks ``protocol`` itself (None: translate)."""
        return self.config.native_protocols.get(protocol)

    async def count_tokens(self, chat_body: bytes) -> int | None:
        """The prompt's exact token count from this provider's own tokenizer, where it has one
        at hand (local engines); None otherwise."""
        return None

    def secrets(self) -> list[str]:
        """Secret strings this provider holds, so error relays can scrub them."""
        out = [v.get_secret_value() for v in self.config.headers.values()]
        if self.config.api_key is not None:
            out.append(self.config.api_key.get_secret_value())
        return [s for s in out if len(s) >= 6]
