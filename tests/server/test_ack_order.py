"""The acknowledge seam (``server.ack``): every relay hands the record over before the bytes
that complete the answer, and the record it hands over is already final."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from lockgate.protocols.base import PassThrough
from lockgate.server.edge import EventRelay
from lockgate.server.relay import SSERelay


class Upstream:
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        for p in self.pieces:
            yield p

    def close(self) -> None:
        pass

    def release(self) -> None:
        pass


class Log:
    """The client's view (writes) and the audit's (ack), in the order they happened."""

    def __init__(self) -> None:
        self.events: list[tuple[str, bytes]] = []

    async def write(self, data: bytes) -> None:
        self.events.append(("write", bytes(data)))


class FakeAck:
    def __init__(self, log: Log, snapshot: Any) -> None:
        self.t0 = time.perf_counter()
        self.done = False
        self.log, self.snapshot = log, snapshot
        self.seen: Any = None

    async def __call__(self) -> None:
        if self.done:
            return
        self.done = True
        self.seen = self.snapshot()
        self.log.events.append(("ack", b""))


def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
    return b"data: " + orjson.dumps(body) + b"\n\n"


USAGE = b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n'


def written_after_ack(log: Log) -> bytes:
    at = log.events.index(("ack", b""))
    return b"".join(d for kind, d in log.events[at:] if kind == "write")


async def test_chat_stream_acks_before_the_usage_chunk_and_done() -> None:
    for pieces in (
        [chunk({"content": "hi"}), chunk({}, "stop"), USAGE, b"data: [DONE]\n\n"],  # one event a piece
        [chunk({"content": "hi"}) + chunk({}, "stop") + USAGE + b"data: [DONE]\n\n"],  # all in one
        [chunk({"content": "hi"}), USAGE[:30], USAGE[30:] + b"data: [DO", b"NE]\n\n"],  # split anyhow
    ):
        log = Log()
        relay = SSERelay(True, None, hashlib.sha256())
        ack = FakeAck(log, lambda r=relay: (r.result.completed, r.result.usage))
        await relay.run(None, log, Upstream(pieces), ack)  # type: ignore[arg-type]
        assert ack.seen == (True, {"prompt_tokens": 3, "completion_tokens": 2})
        tail = written_after_ack(log)
        assert b'"usage"' in tail and tail.endswith(b"data: [DONE]\n\n")
        before = b"".join(d for kind, d in log.events[: log.events.index(("ack", b""))] if kind == "write")
        assert b"[DONE]" not in before and b'"usage"' not in before


async def test_chat_stream_cut_short_acks_before_its_error_event() -> None:
    log = Log()
    relay = SSERelay(False, None, hashlib.sha256())
    ack = FakeAck(log, lambda: relay.result.error)
    await relay.run(None, log, Upstream([chunk({"content": "hi"})]), ack)  # type: ignore[arg-type]
    assert ack.seen == "upstream ended the stream without [DONE]"
    assert b"stream_incomplete" in written_after_ack(log)


async def test_native_messages_stream_acks_before_message_stop() -> None:
    def usage_of(data: dict[str, Any]) -> Any:
        return None

    events = [
        b'event: message_start\ndata: {"type":"message_start"}\n\n',
        b'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":5}}\n\n',
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ]
    for pieces in (events, [b"".join(events)]):
        log = Log()
        translator = PassThrough(usage_of)
        relay = EventRelay(translator, None, hashlib.sha256(), native=True)
        ack = FakeAck(log, lambda t=translator: t.completed)
        await relay.run(None, log, Upstream(pieces), ack)  # type: ignore[arg-type]
        assert ack.seen is True
        assert b"message_stop" in written_after_ack(log)
        before = b"".join(d for kind, d in log.events[: log.events.index(("ack", b""))] if kind == "write")
        assert b"message_stop" not in before
