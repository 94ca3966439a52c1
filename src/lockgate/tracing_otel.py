"""The OpenTelemetry implementation of the tracing seam (``tracing: enabled: true``).

One private ``TracerProvider`` per serving process (the global provider is left alone), a
parent-based ratio sampler, and a ``BatchSpanProcessor`` over the OTLP/HTTP exporter: ending a
span only appends it to a bounded queue, and a background thread exports batches, so the
collector never blocks the event loop.  Attribute names follow the OpenTelemetry GenAI
semantic conventions (``gen_ai.*``) plus ``lockgate.*`` for routing and sovereignty facts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType
from typing import TYPE_CHECKING

from lockgate.errors import ConfigError
from lockgate.tracing import NO_HEADERS, AttrValue

try:
    from opentelemetry import context, trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ConfigError(
        f"tracing.enabled: OpenTelemetry is not installed ({exc.name}); install lockgate[otel]"
    ) from None

if TYPE_CHECKING:
    from lockgate.config.schema import TracingConfig
    from lockgate.records import RequestRecord

# the GenAI operation of each endpoint (gen_ai.operation.name)
OPERATIONS = {
    "chat.completions": "chat",
    "anthropic.messages": "chat",
    "openai.responses": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
}
_ERROR = trace.Status(trace.StatusCode.ERROR)
_PROPAGATOR = TraceContextTextMapPropagator()


def _operation(upstream_path: str) -> str:
    """The GenAI operation of an upstream call, from the path it is sent to."""
    if upstream_path.endswith("/embeddings"):
        return "embeddings"
    if upstream_path.endswith("/completions") and not upstream_path.endswith("/chat/completions"):
        return "text_completion"
    return "chat"  # chat completions, or a native Messages / Responses call


def _error_type(exc: BaseException) -> str:
    code = getattr(exc, "code", None)  # GatewayError: its stable code, never its message
    return code if isinstance(code, str) and code else type(exc).__name__


class OtelSpan:
    __slots__ = ("_span", "_token", "recording")

    def __init__(self, span: trace.Span) -> None:
        self._span = span
        self._token: object = None
        self.recording = span.is_recording()

    def set(self, key: str, value: AttrValue | None) -> None:
        if value is not None:
            self._span.set_attribute(key, value)

    def fail(self, error_type: str) -> None:
        self._span.set_attribute("error.type", error_type)
        self._span.set_status(_ERROR)

    def record(self, rec: RequestRecord) -> None:
        if not self.recording:
            return
        s = self._span
        s.set_attribute("http.response.status_code", rec.status)
        s.set_attribute("lockgate.request_id", rec.request_id)
        s.set_attribute("lockgate.endpoint", rec.endpoint)
        s.set_attribute("gen_ai.operation.name", OPERATIONS.get(rec.endpoint, rec.endpoint))
        facts = {
            "gen_ai.request.model": rec.model_alias,
            "gen_ai.provider.name": rec.provider,
            "gen_ai.system": rec.provider,
            "lockgate.deployment": rec.deployment,
            "lockgate.provider": rec.provider,
            "lockgate.policy": rec.policy,
            "lockgate.jurisdiction": rec.jurisdiction,
            "lockgate.route": rec.route_reason[:200] if rec.route_reason else None,
            "lockgate.key.id": rec.key_id,
        }
        for key, value in facts.items():
            if value is not None:
                s.set_attribute(key, value)
        if rec.pii_findings:
            s.set_attribute("lockgate.pii.types", sorted(rec.pii_findings))  # types only, never values
        if rec.attempts:
            s.set_attribute("lockgate.attempts", rec.attempts)
        if rec.status == 200:
            s.set_attribute("gen_ai.usage.input_tokens", rec.prompt_tokens)
            s.set_attribute("gen_ai.usage.output_tokens", rec.completion_tokens)
        if rec.error_type:
            s.set_attribute("error.type", rec.error_type)
        if rec.status >= 500 or rec.status == 0:  # HTTP server spans: 4xx is the client's doing
            s.set_status(_ERROR)

    def end(self) -> None:
        self._span.end()

    def headers(self) -> Mapping[str, str]:
        # a span the sampler dropped still carries the trace: its traceparent goes on, flagged
        # unsampled, so the upstream's own records keep the caller's trace id
        if not self._span.get_span_context().is_valid:
            return NO_HEADERS
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(self._span))
        return carrier

    def __enter__(self) -> OtelSpan:
        self._token = context.attach(trace.set_span_in_context(self._span))
        return self

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            self.fail(_error_type(exc))
        context.detach(self._token)  # type: ignore[arg-type]
        self._span.end()


class OtelTracer:
    def __init__(self, cfg: TracingConfig, instance: str) -> None:
        try:
            release = version("lockgate")
        except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
            release = "unknown"
        resource = Resource.create(
            {"service.name": cfg.service_name, "service.instance.id": instance, "service.version": release}
        )
        self.provider = TracerProvider(
            resource=resource, sampler=ParentBased(TraceIdRatioBased(cfg.sample_ratio))
        )
        exporter = OTLPSpanExporter(
            endpoint=cfg.endpoint,
            headers={k: v.get_secret_value() for k, v in cfg.headers.items()},
            timeout=cfg.timeout,
        )
        self.processor = BatchSpanProcessor(
            exporter,
            max_queue_size=cfg.queue_size,
            schedule_delay_millis=cfg.export_interval * 1000.0,
            export_timeout_millis=cfg.timeout * 1000.0,
        )
        self.provider.add_span_processor(self.processor)
        self.tracer = self.provider.get_tracer("lockgate", release)
        self.propagator = _PROPAGATOR

    def request(self, method: str, path: str, headers: Mapping[str, str]) -> OtelSpan:
        parent = self.propagator.extract(headers)  # the caller's traceparent, if it sent one
        span = self.tracer.start_span(
            f"{method} {path}",
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        )
        return OtelSpan(span)

    def span(self, name: str) -> OtelSpan:
        return OtelSpan(self.tracer.start_span(name))

    def attempt(self, deployment: str, provider: str, model: str, path: str, retry: int) -> OtelSpan:
        operation = _operation(path)
        span = self.tracer.start_span(
            f"{operation} {model}",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": operation,
                "url.path": path,
                "gen_ai.provider.name": provider,
                "gen_ai.system": provider,
                "gen_ai.request.model": model,
                "lockgate.deployment": deployment,
                "lockgate.provider": provider,
                "lockgate.retry": retry,
            },
        )
        return OtelSpan(span)

    def current(self) -> OtelSpan:
        return OtelSpan(trace.get_current_span())

    async def close(self) -> None:
        # shutdown flushes the queue through the exporter: blocking HTTP, so off the loop
        await asyncio.to_thread(self.provider.shutdown)
