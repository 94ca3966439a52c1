"""A/B: one lockgate feature line from two source trees, in alternating rounds, same nginx upstream.

    git archive HEAD src | tar -x -C /tmp/before      # the tree to compare with
    .venv/bin/python bench/ab_trees.py /tmp/before/src [--line all] [--rounds 3] [--seconds 5]

Each round starts one gateway per tree (``PYTHONPATH`` picks the tree; the audit writer process
inherits it), runs wrk at c=1 and c=32 and stops it; the trees swap places every round.  Besides
req/s and latency it prints the CPU time per c=32 request of every process of the gateway's tree
(the gateway first, then its children such as the audit writer), from ``/proc/<pid>/stat``:
on a shared machine that is steadier than req/s.  Prints every round and the median per tree;
compare within rounds, not across runs.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from lockbench.launch import start_lockgate  # noqa: E402
from lockbench.loadgen import run_wrk  # noqa: E402
from lockbench.peers import FEATURE_LINES, PROMPTS, upstream_routes  # noqa: E402
from lockbench.procs import descendants  # noqa: E402
from lockbench.upstream import UPSTREAM_MODEL, start_nginx  # noqa: E402

LINES = {f.name: f for f in FEATURE_LINES if f.workers == 1}
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(stat[11]) + int(stat[12])) / TICK


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("before", help="the other tree's src directory")
    ap.add_argument("--line", choices=sorted(LINES), default="auth+audit")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    line = LINES[args.line]
    prompt = PROMPTS[line.prompts[-1]]
    key = "lg-bench-" + secrets.token_hex(8)
    work = Path(tempfile.mkdtemp(prefix="lockgate-ab-"))
    nginx = start_nginx(work, 64)
    routes = upstream_routes(f"http://127.0.0.1:{nginx.port}", UPSTREAM_MODEL)
    results: dict[str, list[tuple[float, ...]]] = {"before": [], "now": []}
    try:
        for r in range(args.rounds):
            for tree in ("before", "now") if r % 2 == 0 else ("now", "before"):
                if tree == "before":
                    os.environ["PYTHONPATH"] = args.before
                else:
                    os.environ.pop("PYTHONPATH", None)
                service, endpoint = start_lockgate(f"{tree}{r}", line, work, routes, key)
                try:
                    target = endpoint.chat(prompt)
                    run_wrk(target, 8, 1.0, work)  # warm-up
                    c1 = run_wrk(target, 1, args.seconds, work)
                    pids = [service.pid, *descendants(service.pid)]
                    spent = [cpu_seconds(pid) for pid in pids]
                    c32 = run_wrk(target, 32, args.seconds, work)
                    served = max(1, c32.requests)
                    per = [
                        (cpu_seconds(pid) - before) / served * 1e6
                        for pid, before in zip(pids, spent, strict=True)
                    ]
                finally:
                    service.stop()
                row = (c1.rps, c1.p50_ms, c32.rps, c32.p99_ms, *per[:2])
                results[tree].append(row)
                cpu = " + ".join(f"{us:.0f}" for us in per)
                print(f"round {r} {tree:6s} c1 {c1.rps:7.0f} req/s p50 {c1.p50_ms:5.2f} ms | "
                      f"c32 {c32.rps:7.0f} req/s p99 {c32.p99_ms:6.1f} ms | CPU µs/request {cpu} | "
                      f"errors {c1.errors + c32.errors}", flush=True)  # fmt: skip
    finally:
        nginx.stop()
    for tree, rows in results.items():
        med = [statistics.median(col) for col in zip(*rows, strict=False)]
        cpu = " + ".join(f"{us:.0f}" for us in med[4:])
        print(f"median {tree:6s} c1 {med[0]:7.0f} req/s p50 {med[1]:5.2f} ms | c32 {med[2]:7.0f} req/s "
              f"p99 {med[3]:6.1f} ms | CPU µs/request {cpu}")  # fmt: skip


if __name__ == "__main__":
    main()
