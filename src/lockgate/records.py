"""Typed events that leave the request path: one ``RequestRecord`` per request.

The request handler builds a record and hands it to every registered ``RecordSink``
(audit chain, usage/limits, metrics …) with ``submit()``, which must never block or await:
sinks queue the record and do their work off the path.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    started_at: float  # unix seconds
    finished_at: float = 0.0
    instance: str = ""
    endpoint: str = ""  # "chat.completions", "completions", "embeddings"
    key_id: str | None = None  # pseudonymous key id, never the secret
    key_name: str | None = None
    team: str | None = None
    purpose: str | None = None  # client's x-lockgate-purpose header
    model_alias: str | None = None
    deployment: str | None = None  # "provider/upstream-model"
    provider: str | None = None
    jurisdiction: str | None = None
    policy: str | None = None  # effective policy names joined with '+'
    route_reason: str | None = None  # why this deployment (strategy, fallback, insurance …)
    pii_findings: dict[str, int] = field(default_factory=dict)  # type -> count, never values
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost: float = 0.0
    currency: str | None = None
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    status: int = 0
    error_type: str | None = None
    stream: bool = False
    attempts: int = 0
    request_sha256: str | None = None
    response_sha256: str | None = None
    request_body: bytes | None = None  # only when content logging is on (encrypted by the sink)
    response_body: bytes | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class RecordSink(Protocol):
    """Receives every finished request.  ``submit`` is called on the event loop: never block."""

    def submit(self, record: RequestRecord) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...
