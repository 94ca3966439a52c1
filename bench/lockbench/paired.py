"""Throughput and tail ratios measured in alternating rounds (issue 17's targets).

A ratio between two lines measured minutes apart also measures how the shared machine drifted in
between: on this 2-core VM the pass-through alone has ranged over 3,500–4,100 req/s within one
run. So the targets that compare lockgate with every feature on against the pass-through are
taken from rounds that alternate the two, each a fresh process warmed for a second, then one
c=32 run as long as the main table's. Each round gives a pair of neighbours in time; the target
is the median of the per-round ratios. Every round is printed and kept in the JSON.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lockbench.loadgen import LoadResult, run_wrk
from lockbench.peers import PROMPTS, Endpoint
from lockbench.procs import Service

Starter = Callable[[], tuple[Service, Endpoint]]
WARM_SECONDS = 1.0


@dataclass(frozen=True)
class Round:
    peer: LoadResult
    subject: LoadResult

    @property
    def rps_ratio(self) -> float:
        return self.subject.rps / self.peer.rps if self.peer.rps else 0.0

    @property
    def p99_ratio(self) -> float:
        return self.subject.p99_ms / self.peer.p99_ms if self.peer.p99_ms else float("inf")

    def to_json(self) -> dict[str, Any]:
        return {
            "peer": self.peer.to_json(),
            "subject": self.subject.to_json(),
            "rps_ratio": round(self.rps_ratio, 3),
            "p99_ratio": round(self.p99_ratio, 3),
        }


@dataclass
class Paired:
    """`subject` against `peer`, c=32 on one prompt, in alternating rounds."""

    peer: str
    subject: str
    prompt: str
    rounds: list[Round] = field(default_factory=list)

    @property
    def rps_ratio(self) -> float | None:
        return statistics.median(r.rps_ratio for r in self.rounds) if self.rounds else None

    @property
    def p99_ratio(self) -> float | None:
        return statistics.median(r.p99_ratio for r in self.rounds) if self.rounds else None

    def to_json(self) -> dict[str, Any]:
        return {
            "peer": self.peer,
            "subject": self.subject,
            "prompt": self.prompt,
            "rounds": [r.to_json() for r in self.rounds],
            "median_rps_ratio": None if self.rps_ratio is None else round(self.rps_ratio, 3),
            "median_p99_ratio": None if self.p99_ratio is None else round(self.p99_ratio, 3),
        }


def _one(starter: Starter, prompt: str, seconds: float, workdir: Path) -> LoadResult:
    service, endpoint = starter()
    try:
        target = endpoint.chat(PROMPTS[prompt])
        run_wrk(target, 32, WARM_SECONDS, workdir)
        return run_wrk(target, 32, seconds, workdir)
    finally:
        service.stop()


def measure_paired(
    paired: Paired, peer: Starter, subject: Starter, rounds: int, seconds: float, workdir: Path
) -> Paired:
    """Fill `paired` with `rounds` rounds: the peer, then the subject, each in a fresh process."""
    for n in range(rounds):
        print(f"  round {n + 1} of {rounds}: {paired.peer}, then {paired.subject} …", flush=True)
        first = _one(peer, paired.prompt, seconds, workdir)
        paired.rounds.append(Round(first, _one(subject, paired.prompt, seconds, workdir)))
    return paired
