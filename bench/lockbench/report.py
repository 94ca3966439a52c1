"""The printed table and ``bench/results/latest.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lockbench.engine import EngineRun
from lockbench.paired import Paired
from lockbench.peers import ADAPTER_PROTOCOLS
from lockbench.suite import Line, Settings
from lockbench.targets import AdapterCost, Target, adapter_costs, ratios, targets

MET = {True: "[green]met[/]", False: "[red]missed[/]", None: "[dim]n/a[/]"}


@dataclass
class Report:
    mode: str
    settings: Settings
    machine: dict[str, Any]
    versions: dict[str, str]
    lines: list[Line]
    engine: EngineRun | None
    elapsed_s: float
    artefacts: list[str]
    paired: Paired | None = None

    def targets(self) -> list[Target]:
        return targets(self.lines, self.engine, self.paired)

    def to_json(self) -> dict[str, Any]:
        return {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "mode": self.mode,
            "elapsed_s": round(self.elapsed_s, 1),
            "machine": self.machine,
            "versions": self.versions,
            "settings": vars(self.settings),
            "lines": [line.to_json() for line in self.lines],
            "engine": None if self.engine is None else self.engine.to_json(),
            "ratios": ratios(self.lines),
            "paired": None if self.paired is None else self.paired.to_json(),
            "adapters": [c.to_json() for c in adapter_costs(self.lines, ADAPTER_PROTOCOLS)],
            "targets": [t.to_json() for t in self.targets()],
            "artefacts": self.artefacts,
        }


def write_json(report: Report, path: Path) -> dict[str, Any]:
    data = report.to_json()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data


def _f(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _memory(line: Line) -> str:
    if line.memory is None:
        return ""
    m = line.memory
    own = f" (serving {m.own_after_kb / 1024:.0f})" if m.own_after_kb and m.own_after_kb != m.after_kb else ""
    return f"{m.warm_kb / 1024:.0f}→{m.after_kb / 1024:.0f}{own} ({m.requests:,})"


def main_table(report: Report) -> Table:
    table = Table(title=f"lockgate benchmark ({report.mode}) — one worker each, same static upstream")
    for name in ("line", "prompt", "c1 req/s", "c1 p50", "c1 p99", "c32 req/s", "c32 p50", "c32 p99"):
        table.add_column(name, justify="left" if name in ("line", "prompt") else "right")
    for name in ("p99 ÷aiohttp", "gen2/10k", "SSE chunk/s", "TTFC p50", "RSS MB (req)"):
        table.add_column(name, justify="right")
    for name in ("÷direct", "÷aiohttp", "÷LiteLLM"):
        table.add_column(name, justify="right")
    table_ratios = ratios(report.lines)
    for line in report.lines:
        r = table_ratios.get(f"{line.label} {line.prompt}", {})
        sse = line.sse
        table.add_row(
            escape(line.label),
            line.prompt,
            _f(line.c1.rps, 0),
            _f(line.c1.p50_ms, 2),
            _f(line.c1.p99_ms, 2),
            _f(line.c32.rps, 0),
            _f(line.c32.p50_ms, 2),
            _f(line.c32.p99_ms, 2),
            _ratio(r.get("c32_p99_vs_aiohttp")),
            _f(line.gen2_per_10k, 2) if line.gen2 is not None else "",
            _f(sse.chunks_per_s, 0) if sse else "",
            _f(sse.ttfc_p50_ms, 2) if sse else "",
            _memory(line),
            _ratio(r.get("c32_rps_vs_direct")),
            _ratio(r.get("c32_rps_vs_aiohttp")),
            _ratio(r.get("c32_rps_vs_litellm")),
        )
    table.caption = (
        "latencies in ms; p99 ÷aiohttp: c=32 p99 over the pass-through's (same prompt); gen2/10k: full "
        "garbage collections per 10k requests in the c=32 run; other ÷ columns compare c=32 req/s; "
        "RSS: after warm-up → after the run"
    )
    return table


def engine_table(run: EngineRun) -> Table:
    table = Table(title="engine path: bundled model on llama.cpp, raw decode to through lockgate")
    for name in (
        "via",
        "concurrency",
        "prompts",
        "streams",
        "errors",
        "tokens/s",
        "TTFT p50 ms",
        "TTFT p95 ms",
        "RSS MB",
    ):
        table.add_column(name, justify="left" if name == "via" else "right")
    for e in run.lines:
        table.add_row(
            e.via,
            str(e.concurrency),
            e.prompts,
            str(e.result.streams),
            str(e.result.errors),
            _f(e.tokens_per_s, 1),
            _f(e.result.ttfc_p50_ms, 1),
            _f(e.result.ttfc_p95_ms, 1),
            _f(e.rss_kb / 1024, 0) if e.rss_kb else "",
        )
    follow = "; ".join(
        f"{f.via}: first turn {f.first_ms:.0f} ms, follow-up {f.follow_ms:.0f} ms ({f.ratio:.2f}×)"
        for f in run.follow_ups
    )
    budget = f"engine RSS bound (weights + KV + 150 MB): {run.memory_budget_kb / 1024:.0f} MB"
    table.caption = (
        "raw: llama_decode with B sequences per call (concurrency = B), no sampling, no HTTP; raw prefill: "
        "8 × 64 prompt tokens in one call (TTFT column: the floor that sets)\n"
        f"TTFT of a 1,500-token conversation's follow-up turn: {follow or 'not measured'}\n{budget}"
    )
    return table


def adapter_table(costs: list[AdapterCost]) -> Table:
    table = Table(title="agent protocols: the adapter's added cost per request (same process, auth only)")
    for name in ("protocol", "c1 p50 ms", "added vs chat ms", "c32 req/s", "÷chat"):
        table.add_column(name, justify="left" if name == "protocol" else "right")
    for c in costs:
        table.add_row(c.protocol, _f(c.c1_p50_ms, 3), f"{c.added_c1_p50_ms:+.3f}", _f(c.c32_rps, 0),
                      _ratio(c.c32_rps_vs_chat))  # fmt: skip
    return table


def paired_table(paired: Paired) -> Table:
    table = Table(
        title=f"alternating rounds: {paired.subject} against {paired.peer}, {paired.prompt} prompt, c=32"
    )
    for name in (
        "round",
        f"{paired.peer} req/s",
        "p99 ms",
        f"{paired.subject} req/s",
        "p99 ms",
        "req/s ÷",
        "p99 ÷",
    ):
        table.add_column(name, justify="right")
    for n, r in enumerate(paired.rounds, 1):
        table.add_row(str(n), f"{r.peer.rps:,.0f}", _f(r.peer.p99_ms, 2), f"{r.subject.rps:,.0f}",
                      _f(r.subject.p99_ms, 2), _ratio(r.rps_ratio), _ratio(r.p99_ratio))  # fmt: skip
    table.add_row("median", "", "", "", "", _ratio(paired.rps_ratio), _ratio(paired.p99_ratio))
    return table


def targets_table(found: list[Target]) -> Table:
    table = Table(title="targets (issue 7)")
    for name in ("target", "measured", "limit", "result"):
        table.add_column(name, justify="left" if name == "target" else "right")
    for t in found:
        table.add_row(
            escape(t.name),
            f"{_f(t.value, 2)} {t.unit}".strip(),
            f"{t.op} {t.limit:g} {t.unit}".strip(),
            MET[t.met],
        )
    return table


def print_report(report: Report, console: Console | None = None) -> None:
    console = console or Console(width=max(Console().width, 200))
    console.print(main_table(report))
    costs = adapter_costs(report.lines, ADAPTER_PROTOCOLS)
    if costs:
        console.print(adapter_table(costs))
    if report.engine:
        console.print(engine_table(report.engine))
    if report.paired is not None and report.paired.rounds:
        console.print(paired_table(report.paired))
    console.print(targets_table(report.targets()))
    machine = report.machine
    console.print(
        f"{machine['cpu_model']}, {machine['cores']} cores, {machine['memory_gib']} GiB; "
        f"load at start {machine['load_avg_at_start']}; took {report.elapsed_s:.0f} s"
    )
