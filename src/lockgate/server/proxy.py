"""The request path: admit → decide → forward → relay → record.

Everything here is in-memory work on the event loop; the only awaits are reading the
client body, the upstream call and writing the reply.  Records leave through sinks that
queue them (``RecordSink.submit``).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from lockgate.errors import GatewayError, InvalidRequest, PayloadTooLarge, PermissionDenied
from lockgate.metrics import METRICS
from lockgate.protocols.base import ReplyIds, Turn, WireProtocol, estimate_tokens
from lockgate.providers.base import NativeCall
from lockgate.records import RequestRecord
from lockgate.routing.forward import Outcome, UpstreamCall, forward
from lockgate.server.ack import Ack
from lockgate.server.decision import Decision
from lockgate.server.edge import Edge, EdgeRelays, parse_upstream, read_upstream
from lockgate.server.endpoints import Endpoint
from lockgate.server.hashing import SSE_HEADERS, collecting_hasher
from lockgate.server.relay import SSERelay
from lockgate.server.sessions import Sessions

if TYPE_CHECKING:
    from lockgate.auth.keys import Principal
    from lockgate.routing.deployment import Deployment
    from lockgate.server.gateway import Gateway

PURPOSE_HEADER = "x-lockgate-purpose"
Work = Callable[[web.Request, Endpoint, RequestRecord, Ack], Awaitable[web.StreamResponse]]
# unique across restarts and instances: a random prefix per process plus a counter
_ID_PREFIX = "req_" + uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count(1)


def next_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):012x}"


def error_response(err: GatewayError, request_id: str | None = None) -> web.Response:
    headers = dict(err.headers)
    if request_id:
        headers["x-request-id"] = request_id
    return web.Response(
        status=err.status, body=err.to_body(), content_type="application/json", headers=headers
    )


def protocol_error(protocol: WireProtocol | None, err: GatewayError, request_id: str | None) -> web.Response:
    """An error in the client's protocol shape (OpenAI's when there is no adapter)."""
    if protocol is None:
        return error_response(err, request_id)
    status, body = protocol.error_body(err, request_id)
    headers = dict(err.headers)
    if request_id:
        headers["x-request-id"] = request_id
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


async def read_json(request: web.Request) -> dict[str, Any]:
    body, _ = await read_json_raw(request)
    return body


async def read_json_raw(request: web.Request) -> tuple[dict[str, Any], bytes]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        size = f" ({request.content_length} bytes)" if request.content_length else ""
        raise PayloadTooLarge(
            f"The request body{size} is larger than this gateway accepts ({request.client_max_size} bytes). "
            "Send a smaller request, or ask the operator to raise server.max_body_bytes.",
        ) from None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON ({exc}).") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body, raw


class Proxy(EdgeRelays):
    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.log_content = gateway.cfg.audit.enabled and gateway.cfg.audit.log_content
        self.sessions = Sessions(gateway.responses, gateway.responses_off)
        self.tracer = gateway.tracer  # chosen once at start-up: the no-op one unless tracing is on

    async def handle(
        self, request: web.Request, ep: Endpoint, work: Work | None = None
    ) -> web.StreamResponse:
        """One request through the pipeline; ``work`` replaces the default forward-and-relay
        (token counting), with the same record, errors and audit around it.  The record is
        handed over (``server.ack``) before the answer's last bytes: streams do it before
        their final event, every other answer here, before its body is written."""
        t0 = time.perf_counter()
        rec = RequestRecord(
            request_id=next_request_id(),
            started_at=time.time(),
            instance=self.gw.instance,
            endpoint=ep.name,
        )
        ack = Ack(self.gw, rec, t0)
        span = self.tracer.request(request.method, request.path, request.headers)
        with span:
            try:
                try:
                    resp = await (work or self._handle)(request, ep, rec, ack)
                except GatewayError as err:
                    rec.status, rec.error_type = err.status, err.code or err.type
                    if err.tried is not None:  # the body did reach a provider: record where
                        dep, rec.attempts, rec.route_reason = err.tried
                        rec.deployment, rec.provider, rec.jurisdiction = (
                            dep.name,
                            dep.provider_name,
                            dep.facts.jurisdiction,
                        )
                    resp = protocol_error(ep.protocol, err, rec.request_id)
                await ack()
                return resp
            finally:
                ack.settle_unacknowledged()
                span.record(rec)  # the outcome on the request's span: models, route, usage, status

    def _authenticate(self, request: web.Request, rec: RequestRecord) -> Principal:
        with self.tracer.span("lockgate.auth") as span:
            principal = self.gw.auth.authenticate(request.headers)
            span.set("lockgate.key.id", principal.id)
        rec.key_id, rec.key_name, rec.team = principal.id, principal.name, principal.team
        rec.purpose = request.headers.get(PURPOSE_HEADER)
        return principal

    def _admit(self, principal: Principal, body: dict[str, Any], ep: Endpoint, rec: RequestRecord) -> None:
        ep.validate(body)
        rec.model_alias = body["model"]
        rec.stream = bool(body.get("stream"))
        if principal.allowed_models is not None and rec.model_alias not in principal.allowed_models:
            raise PermissionDenied(
                f"This API key may not use the model {rec.model_alias!r}. "
                f"Allowed: {', '.join(sorted(principal.allowed_models))}.",
                param="model",
                code="model_not_allowed",
            )
        for guard in self.gw.guards:
            guard(principal)

    async def _handle(
        self, request: web.Request, ep: Endpoint, rec: RequestRecord, ack: Ack
    ) -> web.StreamResponse:
        t0 = ack.t0
        body, raw = await read_json_raw(request)
        rec.request_sha256 = hashlib.sha256(raw).hexdigest()
        if self.log_content:
            rec.request_body = raw
        principal = self._authenticate(request, rec)
        turn: Turn | None = None
        if ep.protocol is not None:
            # the adapter at the edge: everything after this line sees a chat completions body
            turn = ep.protocol.parse(body, request.headers)
            await self.sessions.prepare(ep.protocol, turn, principal)
            body = turn.chat
        self._admit(principal, body, ep, rec)
        route = self.gw.router.route(body["model"])
        decision = await self.gw.decider.decide(principal, request.headers, body, route)
        rec.policy = "+".join(decision.policies) or None
        rec.pii_findings = decision.findings
        ordered = route.strategy(decision.candidates)
        stream = rec.stream and ep.streams
        natives: set[int] = set()
        call_for = self._call_builder(body, decision, stream, ep, turn, request, natives)
        t_up = time.perf_counter()
        outcome = await forward(ordered, call_for, self.gw.cfg.retry, self.tracer)
        try:
            with self.tracer.span("lockgate.relay") as span:
                span.set("gen_ai.response.model", outcome.deployment.upstream_model)
                self._note_route(rec, outcome, decision)
                headers = self._headers(rec, outcome.deployment, decision)
                if ep.protocol is not None and turn is not None:
                    native = id(outcome.deployment) in natives
                    ids = ReplyIds(rec.request_id, rec.model_alias or "", int(rec.started_at))
                    edge = Edge(ep.protocol, turn, principal, native, ids)
                    self._edge_headers(edge, headers, rec)
                    if stream and outcome.response.status == 200:
                        return await self._relay_edge_stream(
                            request, rec, outcome, decision, edge, headers, ack
                        )
                    return await self._relay_edge_body(request, rec, outcome, decision, edge, headers, t_up)
                if stream and outcome.response.status == 200:
                    return await self._relay_stream(request, rec, outcome, decision, body, headers, ack)
                return await self._relay_body(rec, outcome, decision, headers, t0, t_up)
        finally:
            # whatever happened (client gone before the first byte, cancellation …), the
            # upstream connection and the replica's in-flight slot are given back exactly once
            outcome.response.close()

    async def count_tokens(
        self, request: web.Request, ep: Endpoint, rec: RequestRecord, ack: Ack
    ) -> web.StreamResponse:
        """Anthropic's ``count_tokens``: the same admission and policy decision as a message,
        then an exact count from the first eligible local tokenizer, or a stated estimate."""
        assert ep.protocol is not None
        body, raw = await read_json_raw(request)
        rec.request_sha256 = hashlib.sha256(raw).hexdigest()
        principal = self._authenticate(request, rec)
        body = {**body, "max_tokens": body.get("max_tokens") or 1, "stream": False}
        chat = ep.protocol.parse(body, request.headers).chat
        self._admit(principal, chat, ep, rec)
        route = self.gw.router.route(chat["model"])
        decision = await self.gw.decider.decide(principal, request.headers, chat, route)
        rec.policy = "+".join(decision.policies) or None
        rec.pii_findings = decision.findings
        count: int | None = None
        payload = orjson.dumps({"messages": chat["messages"], "tools": chat.get("tools")})
        headers = {"x-request-id": rec.request_id, "x-lockgate-policy": rec.policy or "none"}
        for dep in route.strategy(decision.candidates):
            if id(dep) in decision.redacted_for or not dep.provider.is_ready():
                continue
            count = await dep.provider.count_tokens(payload)
            if count is not None:
                rec.deployment, rec.provider, rec.jurisdiction = (
                    dep.name,
                    dep.provider_name,
                    dep.facts.jurisdiction,
                )
                headers.update({"x-lockgate-deployment": dep.name, "x-lockgate-token-count": "exact"})
                break
        if count is None:
            count = estimate_tokens(chat)
            headers["x-lockgate-token-count"] = "estimate (about 4 characters a token; no local tokenizer)"
        rec.status = 200
        return web.Response(body=orjson.dumps({"input_tokens": count}), content_type="application/json",
                            headers=headers)  # fmt: skip

    @staticmethod
    def _call_builder(
        body: dict[str, Any],
        decision: Decision,
        stream: bool,
        ep: Endpoint,
        turn: Turn | None,
        request: web.Request,
        natives: set[int],
    ) -> Callable[[Deployment], UpstreamCall]:
        cache: dict[int, UpstreamCall] = {}

        def build(dep: Deployment) -> UpstreamCall:
            got = cache.get(id(dep))
            if got is not None:
                return got
            redact = id(dep) in decision.redacted_for
            protocol = ep.protocol
            native_path = None
            if protocol is not None and turn is not None and not redact and not turn.extra.get("continued"):
                native_path = dep.provider.native_path(protocol.native_key)
            if protocol is not None and turn is not None and native_path:
                # the upstream speaks the client's protocol: send it untranslated (the same
                # policy and personal-data decision has been made on its translation)
                natives.add(id(dep))
                out = {**dep.params, **turn.original, "model": dep.upstream_model}
                native = NativeCall(protocol.native_headers(request.headers), protocol.native_key_header)
                got = cache[id(dep)] = (native_path, orjson.dumps(out), native)
                return got
            src = decision.redacted_body if redact and decision.redacted_body is not None else body
            out = {**dep.params, **src, "model": dep.upstream_model}
            if stream:
                out["stream_options"] = {**(src.get("stream_options") or {}), "include_usage": True}
            got = cache[id(dep)] = (ep.path, orjson.dumps(out), None)
            return got

        return build

    @staticmethod
    def _note_route(rec: RequestRecord, outcome: Outcome, decision: Decision) -> None:
        dep = outcome.deployment
        rec.deployment, rec.provider = dep.name, dep.provider_name
        rec.jurisdiction = dep.facts.jurisdiction
        rec.attempts = outcome.attempts
        reason = outcome.reason
        if dep.self_hosted_copy_of and dep.facts.self_hosted:
            # insurance: the hosted original failed, or policy / a cut excluded it up front
            why = [] if reason == "primary" else [reason]
            why += [f"excluded {e.deployment}: {e.policy}/{e.rule}" for e in decision.excluded]
            if why:
                reason = f"insurance: self-hosted copy of {dep.self_hosted_copy_of} ({'; '.join(why)})"
        rec.route_reason = reason

    def _headers(self, rec: RequestRecord, dep: Deployment, decision: Decision) -> dict[str, str]:
        h = {
            "x-request-id": rec.request_id,
            "x-lockgate-deployment": dep.name,
            "x-lockgate-provider": dep.provider_name,
            "x-lockgate-jurisdiction": dep.facts.jurisdiction,
            "x-lockgate-policy": rec.policy or "none",
            "x-lockgate-route": (rec.route_reason or "")[:200],
        }
        if decision.findings:
            h["x-lockgate-pii"] = ",".join(sorted(decision.findings))
        if id(dep) in decision.redacted_for:
            h["x-lockgate-redacted"] = "true"
        return h

    def _account(self, rec: RequestRecord, dep: Deployment, usage: dict[str, Any] | None) -> None:
        if not usage:
            return
        rec.prompt_tokens = int(usage.get("prompt_tokens") or 0)
        rec.completion_tokens = int(usage.get("completion_tokens") or 0)
        details = usage.get("prompt_tokens_details") or {}
        rec.cached_tokens = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
        self.gw.price(dep, rec)

    async def _relay_body(
        self,
        rec: RequestRecord,
        outcome: Outcome,
        decision: Decision,
        headers: dict[str, str],
        t0: float,
        t_up: float,
    ) -> web.Response:
        resp, dep = outcome.response, outcome.deployment
        data = await read_upstream(outcome, rec, t_up)
        t_done = time.perf_counter()
        if resp.status != 200:
            rec.error_type = f"upstream_{resp.status}"
            return web.Response(
                status=resp.status,
                body=self.gw.scrub(dep, data),
                content_type="application/json",
                headers=headers,
            )
        parsed = parse_upstream(dep, rec, data)
        model = parsed.get("model")
        if isinstance(model, str):  # what the upstream says it served (the relay's span)
            self.tracer.current().set("gen_ai.response.model", model)
        restorer = decision.restorer_for(dep)
        if restorer is not None:
            parsed = restorer.restore_response(parsed)
            data = orjson.dumps(parsed)
        usage = parsed.get("usage")
        self._account(rec, dep, usage if isinstance(usage, dict) else None)
        rec.response_sha256 = hashlib.sha256(data).hexdigest()
        if self.log_content:
            rec.response_body = data
        if self.gw.cfg.server.overhead_header:
            overhead = (time.perf_counter() - t0) - (t_done - t_up)
            METRICS.observe_overhead(overhead)
            headers["x-lockgate-overhead-ms"] = f"{overhead * 1000.0:.3f}"
        return web.Response(status=200, body=data, content_type="application/json", headers=headers)

    async def _relay_stream(
        self,
        request: web.Request,
        rec: RequestRecord,
        outcome: Outcome,
        decision: Decision,
        body: dict[str, Any],
        headers: dict[str, str],
        ack: Ack,
    ) -> web.StreamResponse:
        dep = outcome.deployment
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        restorer = decision.restorer_for(dep)
        hook = restorer.stream_hook() if restorer is not None else None
        hasher: Any = collecting_hasher(self.log_content)
        relay = SSERelay(include_usage, hook, hasher)
        resp = web.StreamResponse(status=200, headers={**headers, **SSE_HEADERS})

        def settle() -> None:  # the record as the stream ends (before its final event)
            result = relay.result
            rec.status = 200 if result.completed else (499 if result.client_gone else 502)
            rec.error_type = "client_disconnected" if result.client_gone else result.error
            rec.ttft_ms = result.ttft_ms
            rec.response_sha256 = hasher.hexdigest()
            if self.log_content:
                rec.response_body = hasher.content()
            self._account(rec, dep, result.usage)

        ack.before = settle
        try:
            await resp.prepare(request)
            await relay.run(request, resp, outcome.response, ack)
        finally:
            dep.stats.inflight -= 1
        if not relay.result.client_gone:
            with contextlib.suppress(ConnectionResetError):
                await resp.write_eof()
        return resp
