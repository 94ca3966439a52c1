"""The ``--workers`` figure alone: c=32 throughput of ``lockgate serve --workers 2`` against one
worker, every feature on (auth, policy, PII scan of the 2 KB prompt, audit), same upstream,
same run.  ``bench/run.py`` measures the same two lines among all the others; this script
measures only them, alternating, so a short run on a busy machine still compares like with like.

    .venv/bin/python bench/workers.py [--seconds 5] [--rounds 2]
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from lockbench.install import ensure_system_tools  # noqa: E402
from lockbench.launch import start_lockgate  # noqa: E402
from lockbench.loadgen import run_wrk  # noqa: E402
from lockbench.machine import describe_machine  # noqa: E402
from lockbench.peers import (  # noqa: E402
    FEATURE_LINES,
    FULL_LINE,
    PROMPTS,
    WORKERS_LINE,
    upstream_routes,
)
from lockbench.upstream import UPSTREAM_MODEL, start_nginx  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each c=32 run")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of one and two workers")
    parser.add_argument("--work", type=Path, default=BENCH_DIR / ".work" / "workers")
    args = parser.parse_args(argv)
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    ensure_system_tools()
    key = "sk-bench-" + secrets.token_hex(8)
    lines = {f.name: f for f in FEATURE_LINES if f.name in (FULL_LINE, WORKERS_LINE)}
    rps: dict[str, list[float]] = {FULL_LINE: [], WORKERS_LINE: []}
    nginx = start_nginx(args.work, 64)
    try:
        routes = upstream_routes(f"http://127.0.0.1:{nginx.port}", UPSTREAM_MODEL)
        for _ in range(args.rounds):
            for name in (FULL_LINE, WORKERS_LINE):
                service, endpoint = start_lockgate(name, lines[name], args.work, routes, key)
                try:
                    target = endpoint.chat(PROMPTS["2kb"])
                    run_wrk(target, 32, 1.0, args.work / "wrk")  # warm-up
                    result = run_wrk(target, 32, args.seconds, args.work / "wrk")
                    rps[name].append(result.rps)
                    print(f"{name:>16}: c=32 {result.rps:8.0f} req/s  p99 {result.p99_ms:6.1f} ms"
                          f"  errors {result.errors}", flush=True)  # fmt: skip
                finally:
                    service.stop()
    finally:
        nginx.stop()
    one, two = statistics.median(rps[FULL_LINE]), statistics.median(rps[WORKERS_LINE])
    print(f"median c=32 req/s: one worker {one:.0f}, two workers {two:.0f}, ratio {two / one:.2f}x "
          f"(target >= 1.5x on 2 cores); machine: {describe_machine()}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
