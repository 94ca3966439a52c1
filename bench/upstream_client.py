"""CPU cost of one upstream POST: aiohttp's ClientSession against lockgate's lean H1Pool.

Run: .venv/bin/python bench/upstream_client.py [--requests N] [--concurrency C]

Starts the bench's static nginx upstream (bench/lockbench/upstream.py) and, on uvloop as the
gateway runs, sends the same ~2 KB chat-completions POST with each client at concurrency C,
alternating aiohttp, h1, aiohttp, h1 in one process. For each run it prints the process CPU time
per request (the client's own cost plus the event loop's; nginx is another process) and the
request rate, then the ratio of the means. Compare the ratio, not the absolute numbers: machines
differ, and on a 2-core machine nginx competes with the client for the CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import orjson
import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from lockbench.upstream import CHAT_PATH, UPSTREAM_MODEL, start_nginx  # noqa: E402

from lockgate.providers.h1 import H1Pool  # noqa: E402

BODY = orjson.dumps(
    {"model": UPSTREAM_MODEL, "messages": [{"role": "user", "content": "x" * 2000}], "max_tokens": 16}
)
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer bench"}


async def drive(one: Callable[[], Awaitable[None]], requests: int, concurrency: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) for ``requests`` calls of ``one`` spread over ``concurrency`` workers."""

    async def worker(k: int) -> None:
        for _ in range(k):
            await one()

    await asyncio.gather(*(worker(max(1, requests // concurrency // 10)) for _ in range(concurrency)))  # warm
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
    return time.process_time() - cpu0, time.perf_counter() - wall0


async def run_aiohttp(base: str, requests: int, concurrency: int) -> tuple[float, float]:
    connector = aiohttp.TCPConnector(limit=256, limit_per_host=256, keepalive_timeout=30)
    timeout = aiohttp.ClientTimeout(total=30, sock_connect=5, sock_read=30)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, auto_decompress=False, skip_auto_headers=("User-Agent",)
    ) as session:
        url = base + CHAT_PATH

        async def one() -> None:
            async with session.post(url, data=BODY, headers=HEADERS) as resp:
                await resp.read()
                assert resp.status == 200

        return await drive(one, requests, concurrency)


async def run_h1(base: str, requests: int, concurrency: int) -> tuple[float, float]:
    pool = H1Pool(base + "/v1", limit=256, connect_timeout=5, read_timeout=30, total_timeout=30)

    async def one() -> None:
        resp = await pool.post(CHAT_PATH, BODY, HEADERS)
        await resp.read()
        resp.release()
        assert resp.status == 200

    try:
        return await drive(one, requests, concurrency)
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=8000, help="timed requests per run (default 8000)")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    runners = {"aiohttp": run_aiohttp, "h1": run_h1}
    cpu: dict[str, list[float]] = {name: [] for name in runners}
    with tempfile.TemporaryDirectory(prefix="lockgate-upstream-client-") as work:
        nginx = start_nginx(Path(work), 64)
        try:
            base = f"http://127.0.0.1:{nginx.port}"
            for name in ("aiohttp", "h1", "aiohttp", "h1"):
                used, wall = uvloop.run(runners[name](base, args.requests, args.concurrency))
                cpu[name].append(used / args.requests * 1e6)
                print(f"{name:8s} c={args.concurrency}: {cpu[name][-1]:7.1f} us CPU/request, "
                      f"{args.requests / wall:8.0f} req/s")  # fmt: skip
        finally:
            nginx.stop()
    mean = {name: sum(v) / len(v) for name, v in cpu.items()}
    print(f"CPU per request, aiohttp / h1: {mean['aiohttp'] / mean['h1']:.2f}x "
          f"({mean['aiohttp']:.1f} us vs {mean['h1']:.1f} us)")  # fmt: skip


if __name__ == "__main__":
    main()
