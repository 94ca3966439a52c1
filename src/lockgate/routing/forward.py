"""Send one request to the best eligible deployment: retries with backoff and jitter on
retryable errors only, a circuit breaker per deployment, and fallback to the next eligible
deployment — all before the first byte reaches the client.

Retryable: connection failures, read time-outs before any response, HTTP 429, 500, 502,
503, 504.  Anything else (400, 401, 403, 404, 422 …) is the caller's error and is returned
at once.  Once a response is chosen and its first byte relayed, there is no fallback: a
failure mid-stream ends the stream with an error event (see ``server.relay``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lockgate.config.schema import RetryConfig
from lockgate.errors import (
    GatewayError,
    ServiceUnavailable,
    UpstreamError,
    UpstreamOverloaded,
    UpstreamTimeout,
)
from lockgate.metrics import METRICS
from lockgate.providers.base import NativeCall, UpstreamConnectError, UpstreamReadTimeout, UpstreamResponse
from lockgate.routing.deployment import Deployment
from lockgate.tracing import NOOP_SPAN, NOOP_TRACER, Span, Tracer

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
BREAKER_STATUS = frozenset({500, 502, 503, 504})


@dataclass(slots=True)
class Outcome:
    deployment: Deployment
    response: UpstreamResponse
    attempts: int
    reason: str  # "primary", "fallback after …", "retry …"


def _backoff(retry: RetryConfig, n: int, retry_after: float | None) -> float:
    base = min(retry.backoff_max, retry.backoff_initial * (2**n))
    delay: float = base * random.uniform(0.5, 1.0)  # jitter spreads retries of concurrent clients
    if retry_after is not None and retry_after <= retry.backoff_max:
        delay = max(delay, retry_after)
    return delay


def _retry_after(resp: UpstreamResponse) -> float | None:
    value = resp.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _transport_failure(dep: Deployment, exc: Exception) -> tuple[GatewayError, str]:
    """The client-facing error and the short reason for a request that got no response."""
    if isinstance(exc, UpstreamReadTimeout):
        METRICS.upstream_error(dep, "timeout")
        return UpstreamTimeout(
            f"The upstream for {dep.name} did not answer in time; try again later."
        ), "timeout"
    METRICS.upstream_error(dep, "connect")
    return UpstreamError(f"Could not reach the upstream for {dep.name} ({exc})."), "unreachable"


def _plan(ordered: Sequence[Deployment], retries: int) -> list[Deployment]:
    """First every deployment once (fallback order), then retries cycling through them."""
    plan = list(ordered)
    for i in range(retries):
        plan.append(ordered[i % len(ordered)])
    return plan


# what to send a deployment: upstream path, body, and native-protocol headers (None: chat)
UpstreamCall = tuple[str, bytes, NativeCall | None]


async def forward(
    ordered: Sequence[Deployment],
    call_for: Callable[[Deployment], UpstreamCall],
    retry: RetryConfig,
    tracer: Tracer = NOOP_TRACER,
) -> Outcome:
    """``tracer``: one client span per attempt (retry number, deployment, provider, status)."""
    last: GatewayError | None = None
    tried: set[int] = set()
    attempts = 0
    reasons: list[str] = []
    backoffs = 0
    retry_after: float | None = None
    last_dep: Deployment | None = None
    for dep in _plan(ordered, retry.attempts):
        if not dep.provider.is_ready():
            reasons.append(f"{dep.name}: not ready")
            continue
        if not dep.breaker.allow():
            reasons.append(f"{dep.name}: circuit open")
            continue
        if id(dep) in tried:
            await asyncio.sleep(_backoff(retry, backoffs, retry_after))
            backoffs += 1
        tried.add(id(dep))
        attempts += 1
        last_dep = dep
        dep.stats.inflight += 1
        span: Span = NOOP_SPAN
        try:
            path, body, native = call_for(dep)
            span = tracer.attempt(dep.name, dep.provider_name, dep.upstream_model, path, attempts - 1)
            trace = span.headers()  # empty unless tracing is on: the upstream joins the trace
            resp = await dep.provider.send(path, body, native, extra=trace or None)
        except (UpstreamConnectError, UpstreamReadTimeout) as exc:
            dep.stats.inflight -= 1
            dep.breaker.record_failure()
            last, short = _transport_failure(dep, exc)
            reasons.append(f"{dep.name}: {short}")
            _end(span, None, short)
            continue
        except BaseException as exc:
            dep.stats.inflight -= 1
            dep.breaker.release()
            _end(span, None, type(exc).__name__)
            raise
        if resp.status in RETRYABLE_STATUS:
            dep.stats.inflight -= 1
            retry_after = _retry_after(resp)
            _end(span, resp.status, f"http_{resp.status}")
            last = await _overloaded(dep, resp, retry_after)
            reasons.append(f"{dep.name}: HTTP {resp.status}")
            continue
        _end(span, resp.status, f"http_{resp.status}" if resp.status >= 400 else None)
        dep.breaker.record_success()
        reason = "primary" if not reasons else "fallback after " + "; ".join(reasons)
        return Outcome(dep, resp, attempts, reason)
    if last is not None and last_dep is not None:
        last.tried = (last_dep, attempts, "; ".join(reasons))
    if last is None:
        raise ServiceUnavailable(
            f"Every eligible deployment is temporarily unavailable ({'; '.join(reasons)}); retry shortly.",
            headers={"Retry-After": str(int(min(d.breaker.reset_after for d in ordered)))},
        )
    try:
        raise last
    finally:
        last = None  # the traceback keeps this frame: a local naming the error would make a cycle


def _end(span: Span, status: int | None, error_type: str | None) -> None:
    if status is not None:
        span.set("http.response.status_code", status)
    if error_type is not None:
        span.fail(error_type)
    span.end()


async def _overloaded(dep: Deployment, resp: UpstreamResponse, retry_after: float | None) -> GatewayError:
    await resp.read()  # drain so the connection can be reused; the body is not relayed
    if resp.status in BREAKER_STATUS:
        dep.breaker.record_failure()
    else:
        dep.breaker.release()
    METRICS.upstream_error(dep, f"http_{resp.status}")
    headers = {"Retry-After": resp.headers["Retry-After"]} if retry_after is not None else {}
    if resp.status in (429, 503):
        return UpstreamOverloaded(
            f"The upstream for {dep.name} is overloaded (HTTP {resp.status}); retry after the indicated delay.",
            status=resp.status,
            headers=headers,
        )
    if resp.status == 504:
        return UpstreamTimeout(f"The upstream for {dep.name} timed out (HTTP 504); try again later.")
    return UpstreamError(f"The upstream for {dep.name} failed (HTTP {resp.status}); try again later.")
