"""The protocol seam: a wire protocol is an adapter at the edge of the one pipeline.

A ``WireProtocol`` turns its request into the gateway's internal request (an OpenAI chat
completions body, which every provider speaks) and turns the upstream's answer back into its
own shape: a JSON reply (``reply``), a stream (``stream`` returns a ``StreamTranslator``) or
an error (``error_body``).  Authentication, policy, personal data, routing, limits, usage and
audit never see the protocol; they run on the internal request.

A provider that speaks a protocol natively declares it (``native_protocols`` in its config);
the untranslated body then goes upstream after the same checks (see ``server.proxy``).
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from lockgate.errors import GatewayError, InvalidRequest

Json = dict[str, Any]


@dataclass(slots=True)
class Turn:
    """One request, translated: the internal chat body plus what the reply needs to know."""

    chat: Json  # OpenAI chat completions request (model = the client's alias)
    original: Json  # the protocol's own body, untouched (native pass-through)
    stream: bool
    dropped: list[str] = field(default_factory=list)  # accepted but not served ("thinking", …)
    stop: list[str] = field(default_factory=list)  # the client's stop sequences
    extra: Json = field(default_factory=dict)  # protocol-specific state for the reply

    def drop(self, what: str) -> None:
        if what not in self.dropped:
            self.dropped.append(what)


@dataclass(slots=True)
class UpstreamFailure:
    """An upstream's error reply, read from whichever shape it came in."""

    status: int
    message: str
    code: str | None = None

    @property
    def context_overflow(self) -> bool:
        return self.code == "context_length_exceeded" or bool(_OVERFLOW.search(self.message))


_OVERFLOW = re.compile(
    r"context (length|window)|maximum context|exceed[s]? (the )?context|prompt is too long|too many tokens",
    re.IGNORECASE,
)


def read_failure(status: int, data: bytes) -> UpstreamFailure:
    """OpenAI (``{"error": {...}}``), Anthropic (``{"type": "error", "error": {...}}``) or text."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        text = data.decode("utf-8", "replace").strip()[:500]
        return UpstreamFailure(status, text or f"HTTP {status}")
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        code = err.get("code") or err.get("type")
        return UpstreamFailure(
            status, str(err.get("message") or f"HTTP {status}"), str(code) if code else None
        )
    if isinstance(err, str):
        return UpstreamFailure(status, err)
    return UpstreamFailure(status, f"HTTP {status}")


@dataclass(slots=True)
class ChatUsage:
    """Token counts in the internal (chat completions) vocabulary, for usage and audit."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    def as_chat(self) -> Json:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
        }

    @classmethod
    def of(cls, usage: Any) -> ChatUsage:
        if not isinstance(usage, dict):
            return cls()
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else 0
        return cls(
            int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0), int(cached or 0)
        )


def sse(event: str, data: Json) -> bytes:
    """One server-sent event with an ``event:`` line (both agent protocols name their events)."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class StreamTranslator(abc.ABC):
    """Turns one upstream stream into the client's events.

    ``start`` is sent as soon as the response opens; ``feed`` gets each upstream event (its
    SSE ``event`` name, if any, and parsed data); ``finish`` ends a stream whose upstream
    completed; ``fail`` ends one that did not.  Each returns the bytes to send.  After any of
    them, ``usage`` holds the internal token counts and ``completed`` whether the answer is whole.
    """

    def __init__(self) -> None:
        self.usage: ChatUsage | None = None
        self.completed = False
        self.stopped = False  # the translator ended the answer itself (a stop sequence matched)

    def start(self) -> bytes:
        return b""

    @abc.abstractmethod
    def feed(self, event: str | None, data: Json) -> bytes: ...

    @abc.abstractmethod
    def finish(self) -> bytes: ...

    @abc.abstractmethod
    def fail(self, message: str, code: str) -> bytes: ...

    def ping(self) -> bytes | None:
        """Keep-alive bytes while the upstream is silent (None: the protocol has none)."""
        return None

    def final(self) -> Json | None:
        """The whole reply in the protocol's JSON shape, once the stream has ended."""
        return None


class WireProtocol(abc.ABC):
    """One client-facing protocol.  Register implementations in ``lockgate.protocols``."""

    name: str  # record name, e.g. "anthropic.messages"; also the key in ``native_protocols``
    native_key: str  # how a provider config declares it speaks this protocol natively
    native_key_header: str | None = None  # the upstream key goes in this header (None: bearer)
    stores = False  # whether replies can be kept for a later turn (``keep`` / ``continue_from``)

    @abc.abstractmethod
    def parse(self, body: Json, headers: Mapping[str, str]) -> Turn:
        """Validate the protocol's request and translate it; raises ``InvalidRequest``."""

    @abc.abstractmethod
    def reply(self, turn: Turn, chat: Json, ids: ReplyIds) -> Json:
        """Translate a whole chat completion into the protocol's reply."""

    @abc.abstractmethod
    def stream(self, turn: Turn, ids: ReplyIds) -> StreamTranslator:
        """A translator for one streamed chat completion."""

    def native_stream(self, turn: Turn, ids: ReplyIds) -> StreamTranslator:
        """A translator for a natively spoken stream: events pass through, usage is read."""
        return PassThrough(self.native_usage)

    @abc.abstractmethod
    def native_usage(self, reply: Json) -> ChatUsage | None:
        """Token counts from a native reply (or from a native stream event that carries them)."""

    def native_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Client headers a native upstream must see (protocol version, beta flags)."""
        return {}

    def wants_store(self, turn: Turn) -> bool | None:
        """The client's wish: True (keep it), False (do not), None (the protocol's default)."""
        return None

    def continues(self, turn: Turn) -> str | None:
        """The id of a stored reply this request continues, if any."""
        return None

    def continue_from(self, turn: Turn, history: list[Json]) -> None:
        """Put a stored conversation in front of this turn."""
        raise NotImplementedError(f"{self.name} keeps no conversations")

    def keep(self, turn: Turn, reply: Json) -> list[Json]:
        """The chat messages to store with ``reply`` for a later turn."""
        raise NotImplementedError(f"{self.name} keeps no conversations")

    # errors
    @abc.abstractmethod
    def error_body(self, err: GatewayError, request_id: str | None) -> tuple[int, bytes]:
        """Status and body for a gateway error, in the protocol's error shape."""

    def upstream_error(self, turn: Turn | None, failure: UpstreamFailure) -> GatewayError:
        """The client-facing error for an upstream's non-200 reply (its wording kept)."""
        err = GatewayError(failure.message, status=failure.status, code=failure.code)
        if 400 <= failure.status < 500:
            err = InvalidRequest(failure.message, status=failure.status, code=failure.code)
        return err

    def failed_stream(self, turn: Turn, ids: ReplyIds, failure: UpstreamFailure) -> bytes | None:
        """For a streamed request whose upstream refused before any byte: events that report it
        in-band (None: answer with an HTTP error instead)."""
        return None


@dataclass(slots=True, frozen=True)
class ReplyIds:
    """Identifiers for one reply, derived from the gateway's request id so the audit log and
    the client name the same thing."""

    request_id: str
    model: str  # the alias the client asked for
    created: int

    def make(self, prefix: str, n: int | None = None) -> str:
        base = self.request_id.removeprefix("req_")
        return f"{prefix}_{base}" if n is None else f"{prefix}_{base}_{n}"


class PassThrough(StreamTranslator):
    """A native stream: every event goes out as it came; usage-bearing events are read."""

    def __init__(self, usage_of: Any) -> None:
        super().__init__()
        self._usage_of = usage_of

    def feed(self, event: str | None, data: Json) -> bytes:
        got = self._usage_of(data)
        if got is not None:
            self.usage = _merge(self.usage, got)
        if data.get("type") in ("message_stop", "response.completed", "response.incomplete"):
            self.completed = True
        head = b"event: " + event.encode() + b"\n" if event else b""
        return head + b"data: " + orjson.dumps(data) + b"\n\n"

    def finish(self) -> bytes:
        return b""

    def fail(self, message: str, code: str) -> bytes:
        return sse("error", {"type": "error", "error": {"type": "api_error", "message": message}})


def _merge(old: ChatUsage | None, new: ChatUsage) -> ChatUsage:
    if old is None:
        return new
    return ChatUsage(
        new.prompt_tokens or old.prompt_tokens,
        new.completion_tokens or old.completion_tokens,
        new.cached_tokens or old.cached_tokens,
    )


def estimate_tokens(chat: Json) -> int:
    """A stated estimate where no tokenizer is at hand: about four characters a token."""
    chars = 0
    for m in chat.get("messages") or ():
        content = m.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(len(p.get("text") or "") for p in content if isinstance(p, dict))
        for call in m.get("tool_calls") or ():
            fn = call.get("function") or {}
            chars += len(fn.get("name") or "") + len(fn.get("arguments") or "")
        chars += 4  # role and separators
    if chat.get("tools"):
        chars += len(orjson.dumps(chat["tools"]))
    return max(1, (chars + 3) // 4)
