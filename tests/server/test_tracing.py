"""OpenTelemetry traces: what a local OTLP/HTTP receiver gets, decoded with the official protobuf
definitions; the disabled path, which never touches OpenTelemetry; config errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry import trace as otel_trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from tests.support.gateway import remote, running_gateway
from tests.support.upstream import FakeUpstream

from lockgate.config.loader import parse_config
from lockgate.errors import ConfigError
from lockgate.tracing import NOOP_SPAN, NOOP_TRACER

EU = {"operator_country": "DE", "parent_jurisdiction": "DE", "foreign_access_laws": [],
      "processing_locations": ["DE"], "self_hosted": False}  # fmt: skip
US = {"operator_country": "US", "parent_jurisdiction": "US", "foreign_access_laws": ["US-CLOUD-Act"],
      "processing_locations": ["US"], "self_hosted": False}  # fmt: skip
PROMPT = "the quarterly plan codenamed marmalade-7, mail jane.doe@example.org"


class Receiver:
    """A tiny OTLP/HTTP collector: keeps every POST /v1/traces body and its headers."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.server: TestServer | None = None

    async def traces(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        self.headers.append(dict(request.headers))
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(), content_type="application/x-protobuf"
        )

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/v1/traces"))

    def spans(self) -> list[PbSpan]:
        out: list[PbSpan] = []
        for body in self.bodies:
            req = ExportTraceServiceRequest()
            req.ParseFromString(body)
            for rs in req.resource_spans:
                for ss in rs.scope_spans:
                    out.extend(ss.spans)
        return out

    def resources(self) -> list[dict[str, Any]]:
        out = []
        for body in self.bodies:
            req = ExportTraceServiceRequest()
            req.ParseFromString(body)
            out += [{a.key: _value(a.value) for a in rs.resource.attributes} for rs in req.resource_spans]
        return out


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rc = Receiver()
    app = web.Application()
    app.router.add_post("/v1/traces", rc.traces)
    rc.server = TestServer(app, host="127.0.0.1")
    await rc.server.start_server()
    yield rc
    await rc.server.close()


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def attrs(span: PbSpan) -> dict[str, Any]:
    return {a.key: _value(a.value) for a in span.attributes}


def _cfg(up: FakeUpstream, rc: Receiver, **extra: Any) -> dict[str, Any]:
    return {
        "providers": {"eu": remote(up.url, facts=EU), "us": remote(up.url, facts=US)},
        "models": {
            "ok": {"deployments": [{"provider": "eu", "model": "ok"}]},
            "us-only": {"deployments": [{"provider": "us", "model": "ok"}]},
        },
        "policies": {"default": "eu-sovereign", "pii_default": "eu-sovereign"},
        "retry": {"attempts": 1, "backoff_initial": 0.01, "backoff_max": 0.05},
        "pii": {"enabled": True, "action": "route"},
        "tracing": {
            "enabled": True,
            "endpoint": rc.url,
            "service_name": "lockgate-test",
            "headers": {"authorization": "${OTLP_TEST_TOKEN:-Bearer otlp-token-1}"},
        },
        **extra,
    }


def _client(base: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base + "/v1", api_key="none", max_retries=0)


def _trees(spans: list[PbSpan]) -> dict[bytes, list[PbSpan]]:
    by_trace: dict[bytes, list[PbSpan]] = {}
    for s in spans:
        by_trace.setdefault(s.trace_id, []).append(s)
    return by_trace


def _root(spans: list[PbSpan]) -> PbSpan:
    roots = [s for s in spans if not s.parent_span_id]
    assert len(roots) == 1, [s.name for s in roots]
    return roots[0]


async def test_chat_refusal_and_retry_export_a_span_tree_with_gen_ai_attributes(
    upstream: FakeUpstream, receiver: Receiver, tmp_path: Path
) -> None:
    upstream.fail_first = 1  # the first request gets a 503, its retry the answer
    async with running_gateway(_cfg(upstream, receiver), tmp_path) as (base, _):
        client = _client(base)
        reply = await client.chat.completions.create(
            model="ok", messages=[{"role": "user", "content": PROMPT}]
        )
        with pytest.raises(openai.PermissionDeniedError):
            await client.chat.completions.create(
                model="us-only", messages=[{"role": "user", "content": PROMPT}]
            )
    # the gateway's stop flushed the batch processor: everything is at the receiver now
    assert receiver.headers and all(h.get("Authorization") == "Bearer otlp-token-1" for h in receiver.headers)
    raw = b"".join(receiver.bodies)
    assert b"marmalade" not in raw and b"jane.doe" not in raw and b"example.org" not in raw
    assert {"service.name": "lockgate-test"}.items() <= receiver.resources()[0].items()
    traces = list(_trees(receiver.spans()).values())
    assert len(traces) == 2
    ok, refused = sorted(traces, key=len, reverse=True)

    # -- the answered request: server span, auth, policy > pii_scan, two attempts, relay
    root = _root(ok)
    ids = {s.span_id: s for s in ok}
    assert root.kind == PbSpan.SPAN_KIND_SERVER and root.name == "POST /v1/chat/completions"
    children = sorted(s.name for s in ok if s.parent_span_id == root.span_id)
    assert children == ["chat ok", "chat ok", "lockgate.auth", "lockgate.policy", "lockgate.relay"]
    scan = next(s for s in ok if s.name == "lockgate.pii_scan")
    assert ids[scan.parent_span_id].name == "lockgate.policy"
    assert attrs(scan)["lockgate.pii.types"] == ["email"]
    top = attrs(root)
    assert reply.usage is not None
    assert top["gen_ai.operation.name"] == "chat"
    assert top["gen_ai.request.model"] == "ok" and top["gen_ai.provider.name"] == "eu"
    assert top["gen_ai.system"] == "eu"
    assert top["gen_ai.usage.input_tokens"] == reply.usage.prompt_tokens == 11
    assert top["gen_ai.usage.output_tokens"] == reply.usage.completion_tokens == 7
    assert top["lockgate.policy"] == "eu-sovereign" and top["lockgate.jurisdiction"] == "DE"
    assert top["lockgate.pii.types"] == ["email"] and top["http.response.status_code"] == 200
    assert top["lockgate.route"].startswith("fallback after eu/ok: HTTP 503")
    assert top["lockgate.attempts"] == 2
    attempts = sorted((s for s in ok if s.name == "chat ok"), key=lambda s: attrs(s)["lockgate.retry"])
    first, second = (attrs(s) for s in attempts)
    assert all(s.kind == PbSpan.SPAN_KIND_CLIENT for s in attempts)
    assert (first["lockgate.retry"], first["http.response.status_code"], first["error.type"]) == (
        0,
        503,
        "http_503",
    )
    assert attempts[0].status.code == attempts[0].status.STATUS_CODE_ERROR
    assert (second["lockgate.retry"], second["http.response.status_code"]) == (1, 200)
    assert "error.type" not in second
    assert second["lockgate.deployment"] == "eu/ok" and second["gen_ai.provider.name"] == "eu"
    assert second["gen_ai.request.model"] == "ok"
    relay = next(s for s in ok if s.name == "lockgate.relay")
    assert attrs(relay)["gen_ai.response.model"] == "ok"

    # -- the refusal: server span 403 policy_denied, the policy span failed, no attempt, no relay
    root = _root(refused)
    assert sorted(s.name for s in refused) == [
        "POST /v1/chat/completions", "lockgate.auth", "lockgate.pii_scan", "lockgate.policy"
    ]  # fmt: skip
    top = attrs(root)
    assert (top["http.response.status_code"], top["error.type"]) == (403, "policy_denied")
    assert "gen_ai.usage.input_tokens" not in top
    policy = next(s for s in refused if s.name == "lockgate.policy")
    assert (
        attrs(policy)["error.type"] == "policy_denied" and attrs(policy)["lockgate.policy"] == "eu-sovereign"
    )
    assert policy.status.code == policy.status.STATUS_CODE_ERROR


async def test_a_callers_traceparent_is_joined(
    upstream: FakeUpstream, receiver: Receiver, tmp_path: Path
) -> None:
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    async with running_gateway(_cfg(upstream, receiver), tmp_path) as (base, _):
        await _client(base).chat.completions.create(
            model="ok", messages=[{"role": "user", "content": "hi"}],
            extra_headers={"traceparent": f"00-{trace_id}-{parent}-01"},
        )  # fmt: skip
    spans = receiver.spans()
    assert spans and {s.trace_id.hex() for s in spans} == {trace_id}
    server = next(s for s in spans if s.kind == PbSpan.SPAN_KIND_SERVER)
    assert server.parent_span_id.hex() == parent
    # the upstream got the trace context of its attempt: it can join the same trace
    attempt = next(s for s in spans if s.kind == PbSpan.SPAN_KIND_CLIENT)
    sent = upstream.headers[-1].get("traceparent")
    assert sent == f"00-{trace_id}-{attempt.span_id.hex()}-01"
    assert attempt.parent_span_id == server.span_id


async def test_disabled_tracing_never_calls_opentelemetry(
    upstream: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.sdk.trace import Tracer as SdkTracer

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("a span was started with tracing off")

    monkeypatch.setattr(SdkTracer, "start_span", refuse)
    monkeypatch.setattr(SdkTracer, "start_as_current_span", refuse)
    provider_before = otel_trace.get_tracer_provider()
    cfg = {
        "providers": {"up": remote(upstream.url)},
        "models": {"ok": {"deployments": [{"provider": "up", "model": "ok"}]}},
    }
    async with running_gateway(cfg, tmp_path) as (base, gw):
        assert gw.tracer is NOOP_TRACER and gw.decider.tracer is NOOP_TRACER
        reply = await _client(base).chat.completions.create(
            model="ok", messages=[{"role": "user", "content": "x"}]
        )
    assert reply.choices[0].message.content == "fake says: x"
    assert "traceparent" not in {k.lower() for k in upstream.headers[-1]}  # nothing to join
    assert otel_trace.get_tracer_provider() is provider_before  # the global provider untouched
    assert isinstance(provider_before, otel_trace.ProxyTracerProvider)


def test_the_disabled_seam_is_one_shared_no_op() -> None:
    assert NOOP_TRACER.request("POST", "/v1/chat/completions", {}) is NOOP_SPAN
    assert NOOP_TRACER.span("lockgate.auth") is NOOP_SPAN
    assert NOOP_TRACER.attempt("d", "p", "m", "/chat/completions", 0) is NOOP_SPAN
    with NOOP_SPAN as span:
        span.set("k", "v")
        span.fail("x")
    assert NOOP_SPAN.recording is False
    assert dict(NOOP_SPAN.headers()) == {}  # nothing is sent upstream with tracing off


@pytest.mark.parametrize(
    ("tracing", "field"),
    [
        ({"enabled": True, "endpoint": "collector:4318"}, "tracing.endpoint"),
        ({"sample_ratio": 1.5}, "tracing.sample_ratio"),
        ({"enabled": True, "exporter": "grpc"}, "tracing.exporter"),
        ({"timeout": 0}, "tracing.timeout"),
    ],
)
def test_config_errors_name_the_field(tracing: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"tracing": tracing}, "lockgate.yaml")
    assert field in str(info.value)


async def test_an_unsampled_callers_trace_goes_upstream_unsampled_and_nothing_is_exported(
    upstream: FakeUpstream, receiver: Receiver, tmp_path: Path
) -> None:
    """W3C trace context: a caller that does not sample still has its trace id carried through
    (flags 00), and the sampler's verdict (ParentBased) keeps every span of it out of the export."""
    trace_id, parent = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    async with running_gateway(_cfg(upstream, receiver), tmp_path) as (base, _):
        await _client(base).chat.completions.create(
            model="ok", messages=[{"role": "user", "content": "hi"}],
            extra_headers={"traceparent": f"00-{trace_id}-{parent}-00"},
        )  # fmt: skip
        sent = upstream.headers[-1].get("traceparent")
        await _client(base).chat.completions.create(  # a sampled request after it, to flush something
            model="ok", messages=[{"role": "user", "content": "hi"}]
        )
    assert sent is not None
    version, got_trace, span_id, flags = sent.split("-")
    assert (version, got_trace, flags) == ("00", trace_id, "00")
    assert len(span_id) == 16 and span_id != parent and int(span_id, 16) != 0
    assert trace_id not in {s.trace_id.hex() for s in receiver.spans()}
    assert receiver.spans(), "the sampled request's spans were exported"
