"""``--profile``: sample lockgate with py-spy during its c=32 run and say where the time goes."""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from lockbench.procs import Service

TOP = 25


class Profiler:
    """Records collapsed stacks (py-spy ``raw`` format) and writes a short text summary beside them."""

    def __init__(self, pyspy: Path, out_dir: Path, only: str) -> None:
        self.pyspy = pyspy
        self.out_dir = out_dir
        self.only = only
        self.written: list[Path] = []

    @contextlib.contextmanager
    def __call__(self, service: Service, seconds: float, label: str) -> Iterator[None]:
        if label != self.only:
            yield
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-")
        raw = self.out_dir / f"profile-{name}.collapsed.txt"
        argv = [str(self.pyspy), "record", "--pid", str(service.pid), "--subprocesses", "--rate", "250"]
        argv += [
            "--duration",
            str(max(1, round(seconds))),
            "--format",
            "raw",
            "--nonblocking",
            "-o",
            str(raw),
        ]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            yield
        finally:
            _, err = proc.communicate(timeout=seconds + 60)
        if proc.returncode != 0 or not raw.exists():
            message = err.decode(errors="replace").strip()[-400:]
            (self.out_dir / f"profile-{name}.error.txt").write_text(message + "\n", encoding="utf-8")
            return
        summary = self.out_dir / f"profile-{name}.summary.txt"
        summary.write_text(summarise(raw.read_text(encoding="utf-8")), encoding="utf-8")
        self.written += [raw, summary]


def _parse(collapsed: str) -> list[tuple[list[str], int]]:
    stacks = []
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def summarise(collapsed: str) -> str:
    """Top functions by own samples and by inclusive samples, as percentages of all samples."""
    stacks = _parse(collapsed)
    total = sum(count for _, count in stacks) or 1
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"py-spy samples: {total}", "", f"Top {TOP} by own time:"]
    lines += [f"  {n / total * 100:5.1f}%  {frame}" for frame, n in own.most_common(TOP)]
    lines += ["", f"Top {TOP} by inclusive time:"]
    lines += [f"  {n / total * 100:5.1f}%  {frame}" for frame, n in inclusive.most_common(TOP)]
    return "\n".join(lines) + "\n"
