"""Where and with what the benchmark ran: CPU, cores, memory, and the versions of every peer."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any


def _first(pattern: str, text: str, default: str = "unknown") -> str:
    match = re.search(pattern, text, re.MULTILINE)
    return match.group(1).strip() if match else default


def describe_machine() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo")
    meminfo = _read("/proc/meminfo")
    mem_kb = int(_first(r"^MemTotal:\s+(\d+)", meminfo, "0"))
    return {
        "cpu_model": _first(r"^model name\s*:\s*(.+)$", cpuinfo),
        "cores": os.cpu_count() or 0,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": _first(r'^PRETTY_NAME="?([^"\n]+)"?', _read("/etc/os-release")),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _command_version(argv: list[str], pattern: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    return _first(pattern, done.stdout + done.stderr, "unavailable")


def _dist(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions(nginx: str, wrk: str, litellm: Path | None) -> dict[str, str]:
    found = {
        "python": platform.python_version(),
        "lockgate": _dist("lockgate"),
        "aiohttp": _dist("aiohttp"),
        "llama_cpp_python": _dist("llama_cpp_python"),
        "nginx": _command_version([nginx, "-v"], r"nginx/(\S+)"),
        "wrk": _command_version([wrk, "-v"], r"wrk (\S+)"),
    }
    if litellm is not None:
        python = str(litellm.parent / "python")
        probe = "import importlib.metadata as m; print('litellm', m.version('litellm'))"
        found["litellm"] = _command_version([python, "-c", probe], r"litellm (\S+)")
    return found
