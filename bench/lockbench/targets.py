"""Ratios between peers and the targets from the benchmark issue, computed from measured lines."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lockbench.engine import EngineLine, EngineRun
from lockbench.paired import Paired
from lockbench.peers import FULL_LINE, HEADLINE, TARGET_LINE, WORKERS_LINE
from lockbench.suite import Line

_OPS: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge, "<": operator.lt}


@dataclass(frozen=True)
class Target:
    name: str
    value: float | None
    op: str
    limit: float
    unit: str = ""

    @property
    def met(self) -> bool | None:
        return None if self.value is None else _OPS[self.op](self.value, self.limit)

    def to_json(self) -> dict[str, Any]:
        value = None if self.value is None else round(self.value, 3)
        return {
            "name": self.name,
            "value": value,
            "op": self.op,
            "limit": self.limit,
            "unit": self.unit,
            "met": self.met,
        }


def find(lines: list[Line], label: str, prompt: str = "short") -> Line | None:
    return next((x for x in lines if x.label == label and x.prompt == prompt), None)


def lockgate_label(features: str) -> str:
    return f"lockgate[{features}]"


def protocol_label(protocol: str) -> str:
    """The line of an agent protocol, measured on the headline (auth-only) process."""
    return f"lockgate[{HEADLINE}] /v1/{protocol}"


@dataclass(frozen=True)
class AdapterCost:
    """What a protocol adapter adds per request, against chat completions on the same process."""

    protocol: str
    c1_p50_ms: float
    added_c1_p50_ms: float
    c32_rps: float
    c32_rps_vs_chat: float | None

    def to_json(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def adapter_costs(lines: list[Line], protocols: tuple[str, ...]) -> list[AdapterCost]:
    chat = find(lines, lockgate_label(HEADLINE))
    out: list[AdapterCost] = []
    for protocol in protocols:
        line = find(lines, protocol_label(protocol))
        if chat is None or line is None:
            continue
        out.append(AdapterCost(protocol, line.c1.p50_ms, line.c1.p50_ms - chat.c1.p50_ms, line.c32.rps,
                               _div(line.c32.rps, chat.c32.rps)))  # fmt: skip
    return out


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _rps(line: Line | None, level: str) -> float | None:
    return None if line is None else (line.c1 if level == "c1" else line.c32).rps


def _p99(line: Line | None) -> float | None:
    return None if line is None else line.c32.p99_ms


def ratios(lines: list[Line]) -> dict[str, dict[str, float | None]]:
    """For every line but ``direct``: throughput relative to each peer, latency added over direct.

    The pass-through is compared on the same prompt when it was measured with it."""
    direct, litellm = find(lines, "direct"), find(lines, "litellm")
    found: dict[str, dict[str, float | None]] = {}
    for line in lines:
        if line.label == "direct":
            continue
        bare = find(lines, "aiohttp", line.prompt) or find(lines, "aiohttp")
        found[f"{line.label} {line.prompt}"] = {
            "c1_rps_vs_direct": _div(line.c1.rps, _rps(direct, "c1")),
            "c32_rps_vs_direct": _div(line.c32.rps, _rps(direct, "c32")),
            "c32_rps_vs_aiohttp": _div(line.c32.rps, _rps(bare, "c32")),
            "c32_p99_vs_aiohttp": _div(line.c32.p99_ms, _p99(bare)),
            "aiohttp_c32_p99_ms": _p99(bare),
            "c32_rps_vs_litellm": _div(line.c32.rps, _rps(litellm, "c32")),
            "c1_added_p50_ms": None if direct is None else line.c1.p50_ms - direct.c1.p50_ms,
            "c1_added_p99_ms": None if direct is None else line.c1.p99_ms - direct.c1.p99_ms,
        }
    return found


def _memory_targets(lines: list[Line]) -> list[Target]:
    gateway = [x.memory for x in lines if x.peer == "lockgate" and x.memory is not None]
    # the serving process; the audit writer process is shown in the memory column beside it
    peak = max((m.own_after_kb for m in gateway), default=None)
    head = find(lines, lockgate_label(HEADLINE))
    head_mem = head.memory if head else None
    growth = head_mem.to_json()["growth_pct"] if head_mem else None
    served = head_mem.requests if head_mem else 0
    return [
        Target(
            "lockgate serving process resident memory, largest line",
            None if peak is None else peak / 1024,
            "<=",
            120,
            "MB",
        ),
        Target(f"lockgate memory growth after {served:,} requests", growth, "<", 10, "%"),
    ]


def _engine_targets(run: EngineRun | None) -> list[Target]:
    if run is None:
        return []
    engine = run.lines
    found = []

    def line(via: str, level: int, prompts: str = "same") -> EngineLine | None:
        return next((e for e in engine if (e.via, e.concurrency, e.prompts) == (via, level, prompts)), None)

    for level, prompts in ((1, "same"), (8, "same"), (8, "distinct")):
        direct, via = line("direct", level, prompts), line("lockgate", level, prompts)
        if direct is None or via is None:
            continue
        tps = _div(via.tokens_per_s, direct.tokens_per_s)
        ttft = via.result.ttfc_p50_ms - direct.result.ttfc_p50_ms
        what = f"engine c={level}" + (", distinct prompts" if prompts == "distinct" else "")
        found.append(Target(f"{what}: tokens/s lockgate ÷ direct", tps, ">=", 0.97))
        found.append(Target(f"{what}: time to first token added", ttft, "<=", 5, "ms"))
    raw = {e.concurrency: e.tokens_per_s for e in engine if e.via == "raw"}
    one, eight, distinct = line("lockgate", 1), line("lockgate", 8), line("lockgate", 8, "distinct")
    if one is not None and 1 in raw:
        found.append(Target("engine: one stream through lockgate ÷ raw decode B=1", _div(one.tokens_per_s, raw[1]),
                            ">=", 0.9))  # fmt: skip
    if eight is not None and 8 in raw:
        found.append(Target("engine: 8 streams through lockgate ÷ raw decode B=8",
                            _div(eight.tokens_per_s, raw[8]), ">=", 0.85))  # fmt: skip
    if eight is not None:  # the same prompt: its prefill is shared (engines/prefix_share.py)
        found.append(Target("engine: TTFT p95 at 8 streams, same prompt",
                            eight.result.ttfc_p95_ms, "<=", 500, "ms"))  # fmt: skip
    if distinct is not None:
        found.append(Target("engine: TTFT p95 at 8 streams, distinct 64-token prompts",
                            distinct.result.ttfc_p95_ms, "<=", 500, "ms"))  # fmt: skip
    for f in run.follow_ups:
        found.append(
            Target(f"engine: follow-up turn TTFT ÷ first turn ({f.via}, 1,500 tokens)", f.ratio, "<=", 0.25)
        )
    directs = [e.rss_kb for e in engine if e.via == "direct" and e.concurrency == 8 and e.rss_kb]
    if directs and run.memory_budget_kb:
        found.append(Target("engine RSS with 8 streams ÷ (weights + KV + 150 MB)",
                            max(directs) / run.memory_budget_kb, "<=", 1.0))  # fmt: skip
    return found


def targets(lines: list[Line], engine: EngineRun | None, paired: Paired | None = None) -> list[Target]:
    table = ratios(lines)
    target = table.get(f"{lockgate_label(TARGET_LINE)} short", {})
    head = table.get(f"{lockgate_label(HEADLINE)} short", {})
    found = [
        Target(f"c=32 req/s, {TARGET_LINE}, ÷ LiteLLM", target.get("c32_rps_vs_litellm"), ">=", 40, "×"),
        Target(
            f"c=32 req/s, {TARGET_LINE}, ÷ aiohttp pass-through", target.get("c32_rps_vs_aiohttp"), ">=", 0.6
        ),
        Target("c=1 added p50 over direct (auth)", head.get("c1_added_p50_ms"), "<=", 0.4, "ms"),
        Target("c=1 added p99 over direct (auth)", head.get("c1_added_p99_ms"), "<=", 2.0, "ms"),
    ]
    return found + _tail_targets(lines, table, paired) + _memory_targets(lines) + _engine_targets(engine)


def _tail_targets(
    lines: list[Line], table: dict[str, dict[str, float | None]], paired: Paired | None
) -> list[Target]:
    """Issue 17: every feature on, c=32, against the pass-through; no full collection under load.

    The two ratios come from the alternating rounds when they ran (`lockbench.paired`), else
    from the main table's single runs."""
    full = next((x for x in lines if x.label == lockgate_label(FULL_LINE)), None)
    full_ratios = table.get(f"{full.label} {full.prompt}", {}) if full else {}
    p99, rps, how = full_ratios.get("c32_p99_vs_aiohttp"), full_ratios.get("c32_rps_vs_aiohttp"), ""
    if paired is not None and paired.rounds:
        p99, rps, how = (
            paired.p99_ratio,
            paired.rps_ratio,
            f", median of {len(paired.rounds)} alternating rounds",
        )
    gen2 = [x.gen2 for x in lines if x.peer == "lockgate" and x.gen2 is not None]
    return [
        Target(f"c=32 p99, {FULL_LINE}, ÷ aiohttp pass-through p99{how}", p99, "<=", 1.25, "×"),
        Target(f"c=32 req/s, {FULL_LINE}, ÷ aiohttp pass-through{how}", rps, ">=", 0.75, "×"),
        Target("gen-2 collections in a c=32 run, worst lockgate line", max(gen2) if gen2 else None, "<=", 0),
        Target(f"c=32 req/s, {WORKERS_LINE} ÷ {FULL_LINE} (one worker)", workers_ratio(lines), ">=", 1.5, "×"),
    ]  # fmt: skip


def workers_ratio(lines: list[Line]) -> float | None:
    """Issue 16: c=32 throughput of ``serve --workers 2`` over one worker, every feature on, same run."""
    one = next((x for x in lines if x.label == lockgate_label(FULL_LINE)), None)
    two = next((x for x in lines if x.label == lockgate_label(WORKERS_LINE)), None)
    return None if one is None or two is None else _div(two.c32.rps, one.c32.rps)
