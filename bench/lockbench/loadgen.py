"""Non-streaming load with wrk: a Lua script for the POST body, ``--latency`` output parsed."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lockbench.procs import BenchError

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_DURATION = r"([\d.]+)(us|ms|s|m)"


@dataclass(frozen=True)
class HttpTarget:
    """One POST request that is sent over and over."""

    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class LoadResult:
    connections: int
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _lua_string(text: str) -> str:
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def lua_script(target: HttpTarget) -> str:
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(target.body.decode('utf-8'))}"]
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in target.headers.items()]
    return "\n".join(lines) + "\n"


def _duration_ms(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]


def _int_after(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    return int(match.group(1)) if match else 0


def parse_wrk(text: str, connections: int) -> LoadResult:
    """Read the numbers out of ``wrk --latency`` output."""
    total = re.search(r"(\d+) requests in " + _DURATION, text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s*50(?:\.0+)?%\s+" + _DURATION, text, re.MULTILINE)
    p99 = re.search(r"^\s*99(?:\.0+)?%\s+" + _DURATION, text, re.MULTILINE)
    if not (total and rps and p50 and p99):
        raise BenchError(f"wrk: could not read its output:\n{text[-800:]}")
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    socket_errors = sum(int(g) for g in socket.groups()) if socket else 0
    errors = _int_after(r"Non-2xx or 3xx responses: (\d+)", text) + socket_errors
    return LoadResult(
        connections=connections,
        requests=int(total.group(1)),
        duration_s=_duration_ms(total.group(2), total.group(3)) / 1000.0,
        rps=float(rps.group(1)),
        p50_ms=_duration_ms(p50.group(1), p50.group(2)),
        p99_ms=_duration_ms(p99.group(1), p99.group(2)),
        errors=errors,
    )


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise BenchError("wrk: not found; install it with 'apt-get install -y wrk'")
    return found


def run_wrk(target: HttpTarget, connections: int, seconds: float, workdir: Path) -> LoadResult:
    """Run wrk for ``seconds`` at ``connections`` concurrent connections (one thread per core, ≤ 2)."""
    workdir.mkdir(parents=True, exist_ok=True)
    script = workdir / f"wrk-{abs(hash((target.url, target.body)))}.lua"
    script.write_text(lua_script(target), encoding="utf-8")
    threads = max(1, min(connections, 2))
    argv = [wrk_binary(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    argv += ["--timeout", "10s", "--latency", "-s", str(script), target.url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk exited with {done.returncode}: {done.stderr.strip()[-400:]}")
    return parse_wrk(done.stdout, connections)
