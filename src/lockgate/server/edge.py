"""The protocol edge of the request path: relaying an upstream's answer in the client's protocol.

The proxy runs one pipeline for every protocol (auth, policy, personal data, routing, limits,
audit).  When the client spoke a protocol other than chat completions, the answer goes back
through its ``WireProtocol`` adapter here: whole replies are translated (or passed through
when the upstream spoke the protocol natively), streams run through ``EventRelay``, and
upstream refusals become errors in the protocol's own shape with their wording kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson
from aiohttp import web

from lockgate.errors import UpstreamError, UpstreamTimeout
from lockgate.protocols.base import ReplyIds, StreamTranslator, Turn, WireProtocol, read_failure
from lockgate.providers.base import UpstreamBodyError, UpstreamReadTimeout, UpstreamResponse
from lockgate.server.hashing import SSE_HEADERS, collecting_hasher
from lockgate.server.relay import ChunkHook

if TYPE_CHECKING:
    from lockgate.auth.keys import Principal
    from lockgate.records import RequestRecord
    from lockgate.routing.deployment import Deployment
    from lockgate.routing.forward import Outcome
    from lockgate.server.ack import Ack
    from lockgate.server.decision import Decision
    from lockgate.server.gateway import Gateway
    from lockgate.server.sessions import Sessions

PING_EVERY = 10.0  # seconds of upstream silence before a keep-alive event


@dataclass(slots=True)
class Edge:
    """One request's protocol context for the reply."""

    protocol: WireProtocol
    turn: Turn
    principal: Principal
    native: bool  # the upstream was sent the protocol's own body
    ids: ReplyIds

    @property
    def path(self) -> str:
        return "native" if self.native else "translated"


class EventRelay:
    """Upstream SSE in, the client's protocol events out, as they arrive."""

    def __init__(
        self, translator: StreamTranslator, hook: ChunkHook | None, hasher: Any, native: bool
    ) -> None:
        self.t = translator
        self.hook = hook
        self.hasher = hasher
        self.native = native
        self.ttft_ms: float | None = None
        self.client_gone = False
        self.error: str | None = None
        self._ended = False

    def _event(self, raw: bytes) -> bytes:
        name: str | None = None
        data: list[bytes] = []
        for line in raw.split(b"\n"):
            if line.startswith(b"data:"):
                data.append(line[5:].strip())
            elif line.startswith(b"event:"):
                name = line[6:].strip().decode("utf-8", "replace")
        if not data:
            return b""
        payload = b"\n".join(data)
        if payload == b"[DONE]":
            self._ended = True
            return b"" if self.native else self.t.finish()
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return b""
        if not isinstance(chunk, dict):
            return b""
        if not self.native and isinstance(chunk.get("error"), dict) and not chunk.get("choices"):
            err = chunk["error"]
            self._ended = True
            self.error = "upstream error mid-stream"
            return self.t.fail(
                str(err.get("message") or "upstream error"), str(err.get("code") or "upstream_error")
            )
        if self.hook is not None:
            chunk = self.hook(chunk)
        return self.t.feed(name, chunk)

    async def _send(self, resp: web.StreamResponse, data: bytes, t0: float) -> None:
        if not data:
            return
        if self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - t0) * 1000.0
        self.hasher.update(data)
        await resp.write(data)

    async def _pieces(self, upstream: UpstreamResponse, resp: web.StreamResponse) -> Any:
        """The upstream's chunks; while it is silent, keep-alive events go to the client."""
        chunks = upstream.iter_chunks().__aiter__()
        if self.t.ping() is None:
            async for piece in chunks:
                yield piece
            return
        while True:
            pending = asyncio.ensure_future(chunks.__anext__())
            try:
                while True:
                    done, _ = await asyncio.wait({pending}, timeout=PING_EVERY)
                    if done:
                        break
                    ping = self.t.ping()
                    if ping:
                        await resp.write(ping)
            except BaseException:
                pending.cancel()
                raise
            try:
                piece = pending.result()
            except StopAsyncIteration:
                return
            yield piece

    @property
    def _at_end(self) -> bool:
        """The translator has produced its final event (or the stream's [DONE] was seen)."""
        return self._ended or self.t.completed

    async def _final(self, resp: web.StreamResponse, data: bytes, ack: Ack, t0: float) -> None:
        """The stream's last bytes: the record goes to the audit writer first (``server.ack``)."""
        if data:
            if self.ttft_ms is None:
                self.ttft_ms = (time.perf_counter() - t0) * 1000.0
            self.hasher.update(data)
        await ack()
        if data:
            await resp.write(data)

    async def run(
        self, request: web.Request, resp: web.StreamResponse, upstream: UpstreamResponse, ack: Ack
    ) -> None:
        t0 = ack.t0
        buf = b""
        try:
            await resp.write(self.t.start())
            async for piece in self._pieces(upstream, resp):
                buf += piece
                if b"\r\n" in buf:
                    buf = buf.replace(b"\r\n", b"\n")
                if b"\n\n" not in buf:
                    continue
                *events, buf = buf.split(b"\n\n")
                out = bytearray()
                for ev in events:
                    if ev and not self._ended:
                        out += self._event(ev)
                if self._at_end:  # message_stop / response.completed / … is in this batch
                    await self._final(resp, bytes(out), ack, t0)
                else:
                    await self._send(resp, bytes(out), t0)
            if buf.strip() and not self._ended:
                last = self._event(buf.strip())
                if self._at_end:
                    await self._final(resp, last, ack, t0)
                else:
                    await self._send(resp, last, t0)
            # a chat stream ends with [DONE] (or an in-band error); a native one with its own
            # final event, which the pass-through marks as completed
            if not (self.t.completed if self.native else self._ended):
                self.error = "upstream ended the stream early"
                failed = self.t.fail("The upstream ended the stream early; the answer is incomplete.",
                                     "stream_incomplete")  # fmt: skip
                await ack()
                await resp.write(failed)
            elif not ack.done:  # a native stream whose final event went out before it was known
                await ack()
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            self.client_gone = True
            upstream.close()
            return
        except (UpstreamBodyError, UpstreamReadTimeout) as exc:
            self.error = f"upstream failed mid-stream: {exc}"
            try:
                failed = self.t.fail(
                    "The upstream failed mid-stream; the answer is incomplete. Retry the request.",
                    "stream_interrupted")  # fmt: skip
                await ack()
                await resp.write(failed)
            except (ConnectionResetError, aiohttp.ClientConnectionResetError):
                self.client_gone = True
            upstream.close()
            return
        except asyncio.CancelledError:
            self.client_gone = True
            upstream.close()
            raise
        upstream.release()


async def read_upstream(outcome: Outcome, rec: RequestRecord, t_up: float) -> bytes:
    """A whole upstream reply: its body, with the slot given back and the latency observed."""
    resp, dep = outcome.response, outcome.deployment
    try:
        data = await resp.read()
    except (UpstreamBodyError, UpstreamReadTimeout) as exc:  # the head came, the body did not
        dep.breaker.record_failure()
        kind = UpstreamTimeout if isinstance(exc, UpstreamReadTimeout) else UpstreamError
        raise kind(
            f"The upstream for {dep.name} failed while sending its answer ({exc}); retry the request."
        ) from None
    finally:
        dep.stats.inflight -= 1
    dep.stats.observe_latency((time.perf_counter() - t_up) * 1000.0)
    rec.status = resp.status
    return data


def parse_upstream(dep: Deployment, rec: RequestRecord, data: bytes) -> dict[str, Any]:
    """A 200 reply's JSON object; anything else counts against the deployment and is a 502."""
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        dep.breaker.record_failure()
        rec.status, rec.error_type = 502, "upstream_malformed"
        raise UpstreamError(f"The upstream for {dep.name} returned malformed JSON; try again later.")
    return parsed


class EdgeRelays:
    """The proxy's relays for replies in a client protocol (mixed into ``Proxy``)."""

    gw: Gateway
    log_content: bool
    sessions: Sessions

    def _account(self, rec: RequestRecord, dep: Deployment, usage: dict[str, Any] | None) -> None:
        raise NotImplementedError

    @staticmethod
    def _edge_headers(edge: Edge, headers: dict[str, str], rec: RequestRecord) -> None:
        headers["x-lockgate-protocol"] = f"{edge.protocol.name}; {edge.path}"
        if edge.native:
            rec.route_reason = f"{rec.route_reason or 'primary'} (native {edge.protocol.name})"
            headers["x-lockgate-route"] = rec.route_reason[:200]
        if edge.turn.dropped:
            headers["x-lockgate-dropped"] = ",".join(edge.turn.dropped)[:500]

    async def _relay_edge_body(
        self,
        request: web.Request,
        rec: RequestRecord,
        outcome: Outcome,
        decision: Decision,
        edge: Edge,
        headers: dict[str, str],
        t_up: float,
    ) -> web.StreamResponse:
        resp, dep = outcome.response, outcome.deployment
        data = await read_upstream(outcome, rec, t_up)
        protocol, turn = edge.protocol, edge.turn
        if resp.status != 200:
            rec.error_type = f"upstream_{resp.status}"
            data = self.gw.scrub(dep, data)
            if edge.native:  # already in the client's shape
                return web.Response(
                    status=resp.status, body=data, content_type="application/json", headers=headers
                )
            failure = read_failure(resp.status, data)
            events = (
                protocol.failed_stream(turn, edge.ids, failure)
                if turn.stream and failure.context_overflow
                else None
            )
            if events is not None:
                rec.error_type = "context_length_exceeded"
                sse_headers = {**headers, **SSE_HEADERS}
                return web.Response(status=200, body=events, headers=sse_headers)
            err = protocol.upstream_error(turn, failure)
            status, body = protocol.error_body(err, rec.request_id)
            return web.Response(status=status, body=body, content_type="application/json", headers=headers)
        parsed = parse_upstream(dep, rec, data)
        if edge.native:
            native = protocol.native_usage(parsed)
            usage = native.as_chat() if native is not None else None
            out = data
        else:
            restorer = decision.restorer_for(dep)
            if restorer is not None:
                parsed = restorer.restore_response(parsed)
            chat_usage = parsed.get("usage")
            usage = chat_usage if isinstance(chat_usage, dict) else None
            reply = protocol.reply(turn, parsed, edge.ids)
            self.sessions.keep(edge, reply)
            out = orjson.dumps(reply)
        self._account(rec, dep, usage)
        rec.response_sha256 = hashlib.sha256(out).hexdigest()
        if self.log_content:
            rec.response_body = out
        return web.Response(status=200, body=out, content_type="application/json", headers=headers)

    async def _relay_edge_stream(
        self,
        request: web.Request,
        rec: RequestRecord,
        outcome: Outcome,
        decision: Decision,
        edge: Edge,
        headers: dict[str, str],
        ack: Ack,
    ) -> web.StreamResponse:
        dep = outcome.deployment
        protocol = edge.protocol
        translator = (
            protocol.native_stream(edge.turn, edge.ids)
            if edge.native
            else protocol.stream(edge.turn, edge.ids)
        )
        restorer = decision.restorer_for(dep)
        hook = restorer.stream_hook() if restorer is not None else None
        hasher = collecting_hasher(self.log_content)
        relay = EventRelay(translator, hook, hasher, edge.native)
        resp = web.StreamResponse(status=200, headers={**headers, **SSE_HEADERS})

        def settle() -> None:  # the record as the stream ends (before its final event)
            rec.status = 200 if translator.completed else (499 if relay.client_gone else 502)
            rec.error_type = "client_disconnected" if relay.client_gone else relay.error
            rec.ttft_ms = relay.ttft_ms
            rec.response_sha256 = hasher.hexdigest()
            if self.log_content:
                rec.response_body = hasher.content()
            self._account(rec, dep, translator.usage.as_chat() if translator.usage else None)

        ack.before = settle
        try:
            await resp.prepare(request)
            await relay.run(request, resp, outcome.response, ack)
        finally:
            dep.stats.inflight -= 1
            if translator.completed and not edge.native:
                self.sessions.keep(edge, translator.final())
        if not relay.client_gone:
            with contextlib.suppress(ConnectionResetError):
                await resp.write_eof()
        return resp
