"""Streaming measurements with a small aiohttp client: time to first chunk and chunks per second.

The same client measures the SSE relay (every ``data:`` event counts) and the engine path (only
events that carry generated text count, so a chunk is a token).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
import orjson

from lockbench.loadgen import HttpTarget

DONE = b"[DONE]"


@dataclass(frozen=True)
class StreamResult:
    streams: int
    concurrency: int
    errors: int
    chunks: int
    wall_s: float
    chunks_per_s: float
    ttfc_p50_ms: float
    ttfc_mean_ms: float
    ttfc_p95_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def carries_text(payload: bytes) -> bool:
    """True when an SSE event's JSON has non-empty ``choices[*].delta.content``."""
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return False
    choices = event.get("choices") if isinstance(event, dict) else None
    if not isinstance(choices, list):
        return False
    return any(isinstance(c, dict) and (c.get("delta") or {}).get("content") for c in choices)


@dataclass
class _Stream:
    ttfc_s: float
    chunks: int


async def _one(session: aiohttp.ClientSession, target: HttpTarget, text_only: bool) -> _Stream | None:
    """One stream; None when it failed (non-200, no ``[DONE]``, or no counted chunk)."""
    started = time.perf_counter()
    first: float | None = None
    chunks = 0
    async with session.post(target.url, data=target.body, headers=target.headers) as resp:
        if resp.status != 200:
            await resp.read()
            return None
        async for raw in resp.content:
            line = raw.strip()
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == DONE:
                return _Stream(first - started, chunks) if first is not None else None
            if text_only and not carries_text(payload):
                continue
            chunks += 1
            if first is None:
                first = time.perf_counter()
    return None


async def _run(
    targets: Sequence[HttpTarget], streams: int, concurrency: int, text_only: bool
) -> StreamResult:
    gate = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=300)

    async def guarded(session: aiohttp.ClientSession, target: HttpTarget) -> _Stream | None:
        async with gate:
            try:
                return await _one(session, target, text_only)
            except (TimeoutError, aiohttp.ClientError):
                return None

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        done = await asyncio.gather(*(guarded(session, targets[i % len(targets)]) for i in range(streams)))
        wall = time.perf_counter() - started
    good = [d for d in done if d is not None]
    ttfc = [d.ttfc_s * 1000.0 for d in good] or [0.0]
    chunks = sum(d.chunks for d in good)
    return StreamResult(
        streams=len(good),
        concurrency=concurrency,
        errors=streams - len(good),
        chunks=chunks,
        wall_s=wall,
        chunks_per_s=chunks / wall if wall > 0 else 0.0,
        ttfc_p50_ms=statistics.median(ttfc),
        ttfc_mean_ms=statistics.fmean(ttfc),
        ttfc_p95_ms=_p95(ttfc),
    )


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def measure_streams(
    target: HttpTarget | Sequence[HttpTarget], streams: int, concurrency: int, text_only: bool = False
) -> StreamResult:
    """Open ``streams`` streams, ``concurrency`` at a time, and summarise them.  With several
    targets, stream ``i`` sends ``targets[i % len(targets)]`` (distinct prompts)."""
    targets = [target] if isinstance(target, HttpTarget) else list(target)
    return asyncio.run(_run(targets, streams, concurrency, text_only))


async def first_token_ms(target: HttpTarget) -> tuple[float, str]:
    """One stream: milliseconds to its first text chunk, and the whole text it streamed."""
    started = time.perf_counter()
    first: float | None = None
    parts: list[str] = []
    timeout = aiohttp.ClientTimeout(total=300)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(target.url, data=target.body, headers=target.headers) as resp,
    ):
        if resp.status != 200:
            raise RuntimeError(f"{target.url}: HTTP {resp.status}: {(await resp.read())[:300]!r}")
        async for raw in resp.content:
            line = raw.strip()
            if not line.startswith(b"data:") or line[5:].strip() == DONE:
                continue
            event = orjson.loads(line[5:].strip())
            for choice in event.get("choices") or []:
                text = (choice.get("delta") or {}).get("content")
                if text:
                    first = first if first is not None else time.perf_counter()
                    parts.append(text)
    if first is None:
        raise RuntimeError(f"{target.url}: the stream carried no text")
    return (first - started) * 1000.0, "".join(parts)
