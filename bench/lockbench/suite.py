"""Measure one running peer: wrk at c=1 and c=32 per prompt, the SSE relay, resident memory."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lockbench.gcstats import gen2_collections, per_10k
from lockbench.loadgen import LoadResult, run_wrk
from lockbench.peers import PROMPTS, SHORT_PROMPT, Endpoint
from lockbench.procs import Service
from lockbench.sse import StreamResult, measure_streams


@dataclass(frozen=True)
class Settings:
    seconds_c1: float
    seconds_c32: float
    sse_streams: int
    sse_concurrency: int
    soak_requests: int
    soak_max_seconds: float
    engine_streams_c1: int
    engine_streams_c4: int
    engine_max_tokens: int
    sse_chunks: int = 64
    paired_rounds: int = 3  # alternating pass-through / every-feature rounds (lockbench.paired)


PRESETS: dict[str, Settings] = {
    "full": Settings(
        seconds_c1=5,
        seconds_c32=10,
        sse_streams=300,
        sse_concurrency=8,
        soak_requests=100_000,
        soak_max_seconds=120,
        engine_streams_c1=6,
        engine_streams_c4=8,
        engine_max_tokens=48,
    ),
    "smoke": Settings(
        seconds_c1=1,
        seconds_c32=1,
        sse_streams=20,
        sse_concurrency=4,
        soak_requests=300,
        soak_max_seconds=5,
        engine_streams_c1=2,
        engine_streams_c4=4,
        engine_max_tokens=16,
        paired_rounds=1,
    ),
}

# Wraps the c=32 run of a process: (service, seconds, line label) -> context manager.
C32Hook = Callable[[Service, float, str], AbstractContextManager[None]]


@dataclass
class Memory:
    ready_kb: int
    warm_kb: int = 0
    after_kb: int = 0
    requests: int = 0
    errors: int = 0
    own_after_kb: int = 0  # the serving process alone, without helper processes

    def to_json(self) -> dict[str, Any]:
        growth = (self.after_kb - self.warm_kb) / self.warm_kb * 100.0 if self.warm_kb else 0.0
        return {
            "ready_kb": self.ready_kb,
            "warm_kb": self.warm_kb,
            "after_kb": self.after_kb,
            "own_after_kb": self.own_after_kb,
            "requests": self.requests,
            "soak_errors": self.errors,
            "growth_pct": round(growth, 2),
        }


@dataclass
class Line:
    peer: str
    label: str
    features: str
    prompt: str
    c1: LoadResult
    c32: LoadResult
    sse: StreamResult | None = None
    memory: Memory | None = None
    notes: list[str] = field(default_factory=list)
    gen2: int | None = None  # full garbage collections during the c=32 run (lockgate only)

    @property
    def gen2_per_10k(self) -> float | None:
        return per_10k(self.gen2, self.c32.requests)

    def to_json(self) -> dict[str, Any]:
        return {
            "peer": self.peer,
            "label": self.label,
            "features": self.features,
            "prompt": self.prompt,
            "c1": self.c1.to_json(),
            "c32": self.c32.to_json(),
            "sse": self.sse.to_json() if self.sse else None,
            "memory": self.memory.to_json() if self.memory else None,
            "c32_gen2": self.gen2,
            "c32_gen2_per_10k": None if self.gen2_per_10k is None else round(self.gen2_per_10k, 2),
        }


@contextlib.contextmanager
def _no_hook(_service: Service, _seconds: float, _label: str) -> Iterator[None]:
    yield


@dataclass(frozen=True)
class Subject:
    """A running peer and how to measure it."""

    peer: str
    label: str
    features: str
    service: Service
    endpoint: Endpoint
    prompts: tuple[str, ...] = ("short",)
    sse: bool = True
    soak_requests: int = 0
    gc_stats: bool = False  # read the full-collection count from /metrics around the c=32 run
    memory: bool = True  # report the process's memory on this subject's first line


def measure(subject: Subject, settings: Settings, workdir: Path, hook: C32Hook | None = None) -> list[Line]:
    """All lines for one running process, with its memory attached to the first."""
    memory = Memory(ready_kb=subject.service.rss_kb())
    lines: list[Line] = []
    for prompt in subject.prompts:
        target = subject.endpoint.chat(PROMPTS[prompt])
        c1 = run_wrk(target, 1, settings.seconds_c1, workdir)
        if not lines:
            memory.warm_kb = subject.service.rss_kb()
        gen2_before = gen2_collections(subject.endpoint.base_url) if subject.gc_stats else None
        with (hook or _no_hook)(subject.service, settings.seconds_c32, subject.label):
            c32 = run_wrk(target, 32, settings.seconds_c32, workdir)
        gen2_after = gen2_collections(subject.endpoint.base_url) if subject.gc_stats else None
        gen2 = None if gen2_before is None or gen2_after is None else gen2_after - gen2_before
        memory.requests += c1.requests + c32.requests
        lines.append(Line(subject.peer, subject.label, subject.features, prompt, c1, c32, gen2=gen2))
    if subject.sse:
        stream = subject.endpoint.stream(SHORT_PROMPT, stream_options={"include_usage": True})
        lines[0].sse = measure_streams(stream, settings.sse_streams, settings.sse_concurrency)
        memory.requests += lines[0].sse.streams
    _soak(subject, settings, workdir, memory, lines[0].c32.rps)
    memory.after_kb = subject.service.rss_kb()
    memory.own_after_kb = subject.service.own_rss_kb()
    if subject.memory:
        lines[0].memory = memory
    return lines


def _soak(subject: Subject, settings: Settings, workdir: Path, memory: Memory, rps: float) -> None:
    """Keep the c=32 load on until the process has served ``soak_requests`` (bounded in time)."""
    target = subject.endpoint.chat(PROMPTS[subject.prompts[0]])
    budget = settings.soak_max_seconds
    while memory.requests < subject.soak_requests and budget >= 1.0:
        remaining = subject.soak_requests - memory.requests
        seconds = min(budget, max(1.0, remaining / max(rps, 1.0) * 1.05 + 0.5))
        result = run_wrk(target, 32, seconds, workdir)
        memory.requests += result.requests
        memory.errors += result.errors
        budget -= seconds
        rps = result.rps
