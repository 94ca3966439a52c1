"""The tracing seam: a small ``Tracer`` interface chosen once at start-up.

``NOOP_TRACER`` (tracing off, the default) hands out one shared ``NOOP_SPAN`` whose methods
do nothing, so the request path never imports or calls OpenTelemetry and builds no
attributes.  ``tracing: enabled: true`` swaps in ``lockgate.tracing_otel.OtelTracer``
(OpenTelemetry SDK, batched OTLP/HTTP export) in ``server.assemble``; the request path makes
exactly the same calls either way and never asks which one it has.

Spans carry metadata only: model names, deployments, policies, personal-data *types*, token
counts, statuses.  Never a prompt, an answer, a header value or an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from lockgate.config.schema import TracingConfig
    from lockgate.records import RequestRecord

AttrValue = str | bool | int | float | list[str]
NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class Span(Protocol):
    """One span.  ``with span:`` makes it the parent of spans started inside and ends it."""

    recording: bool

    def set(self, key: str, value: AttrValue | None) -> None:
        """One attribute (``None`` is skipped)."""

    def fail(self, error_type: str) -> None:
        """Mark the span failed with a short machine-readable ``error.type``."""

    def record(self, rec: RequestRecord) -> None:
        """The request's outcome from its record: GenAI and lockgate attributes, status."""

    def end(self) -> None:
        """End a span started with ``Tracer.attempt`` (``with`` ends the others)."""

    def headers(self) -> Mapping[str, str]:
        """W3C trace-context headers (``traceparent``) that make this span the parent of what
        the receiver does: sent upstream with each attempt, so an engine that traces (vLLM,
        SGLang) joins the request's trace.  A span the sampler dropped sends its trace flagged
        unsampled; empty with tracing off."""

    def __enter__(self) -> Span: ...

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class Tracer(Protocol):
    def request(self, method: str, path: str, headers: Mapping[str, str]) -> Span:
        """The server span of one request (joins the caller's W3C ``traceparent``)."""

    def span(self, name: str) -> Span:
        """A child of the current span, for a ``with`` block."""

    def attempt(self, deployment: str, provider: str, model: str, path: str, retry: int) -> Span:
        """A client span for one upstream attempt (a child of the current span, not made
        current; call ``end()``)."""

    def current(self) -> Span:
        """The current span (the request's, outside the ``with`` blocks of its children)."""

    async def close(self) -> None:
        """Flush what is queued and stop exporting (at gateway stop)."""


class _NoopSpan:
    __slots__ = ()
    recording = False

    def set(self, key: str, value: AttrValue | None) -> None:
        pass

    def fail(self, error_type: str) -> None:
        pass

    def record(self, rec: RequestRecord) -> None:
        pass

    def end(self) -> None:
        pass

    def headers(self) -> Mapping[str, str]:
        return NO_HEADERS

    def __enter__(self) -> _NoopSpan:
        return self

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass


NOOP_SPAN = _NoopSpan()


class _NoopTracer:
    __slots__ = ()

    def request(self, method: str, path: str, headers: Mapping[str, str]) -> Span:
        return NOOP_SPAN

    def span(self, name: str) -> Span:
        return NOOP_SPAN

    def attempt(self, deployment: str, provider: str, model: str, path: str, retry: int) -> Span:
        return NOOP_SPAN

    def current(self) -> Span:
        return NOOP_SPAN

    async def close(self) -> None:
        pass


NOOP_TRACER: Tracer = _NoopTracer()


def build_tracer(cfg: TracingConfig, instance: str) -> Tracer:
    """The tracer for ``tracing:``; OpenTelemetry is imported only when it is enabled.  Call
    it in the process that serves (each ``serve --workers`` worker builds its own)."""
    if not cfg.enabled:
        return NOOP_TRACER
    from lockgate.tracing_otel import OtelTracer

    return OtelTracer(cfg, instance)
