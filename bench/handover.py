"""Micro-benchmark: what handing one audit record to the writer process costs the request path.

    .venv/bin/python bench/handover.py [--records 20000] [--rounds 5]

* ``batched (before)``: the previous design, a field-value list appended per record and one
  orjson frame per 20 ms shipped to the pipe (the encode and write amortised over the batch).
* ``immediate (now)``: ``ProcessAuditSink.submit``: the record encoded and written into the
  writer's pipe at once with one non-blocking ``os.write``, plus the ``Ack`` seam around it.

A reader paced like the writer process drains the pipe.  Prints the gateway process's CPU
time per record (``time.process_time``, so waiting for a full pipe does not count), best round.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import subprocess
import sys
import time
from typing import Any

from lockgate.audit.remote import PIPE_SIZE, ProcessAuditSink
from lockgate.audit.testing import sample_record
from lockgate.audit.wire import encode, row
from lockgate.audit.worker import HEADER
from lockgate.server.ack import Ack

# reads like the writer process: one gulp, then a pause (lockgate.audit.worker.READ_PAUSE)
_READER = "import os, time\nwhile os.read(0, 1 << 20):\n    time.sleep(0.02)\n"


class _Gw:
    """The gateway's part of ``Ack``: record() into the sink, and its barrier."""

    def __init__(self, sink: ProcessAuditSink) -> None:
        self.sink = sink

    def record(self, rec: Any) -> None:
        self.sink.submit(rec)

    def acknowledge(self, rec: Any) -> Any:
        self.sink.submit(rec)
        return self.sink.barrier()


def _drain() -> tuple[subprocess.Popen[bytes], int]:
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    proc = subprocess.Popen([sys.executable, "-c", _READER], stdin=read_end)
    os.close(read_end)
    return proc, write_end


def batched(records: list[Any], per_batch: int) -> float:
    proc, fd = _drain()
    t = time.process_time()
    rows: list[list[Any]] = []
    for rec in records:
        rows.append(row(rec))
        if len(rows) >= per_batch:
            frame = encode(rows)
            os.write(fd, HEADER.pack(len(frame)) + frame)  # the old pump's drain() waited likewise
            rows = []
    elapsed = time.process_time() - t
    os.close(fd)
    proc.wait()
    return elapsed / len(records) * 1e6


async def immediate(records: list[Any], with_ack: bool) -> float:
    proc, fd = _drain()
    sink = ProcessAuditSink({}, queue_max=len(records) + 1)
    sink._loop, sink._fd = asyncio.get_running_loop(), fd
    gw: Any = _Gw(sink)
    t = time.process_time()
    for i, rec in enumerate(records):
        if with_ack:
            await Ack(gw, rec, 0.0)()
        else:
            sink.submit(rec)
        if sink._out:  # the pipe filled: let the drain catch up (not counted as handover work)
            waiter = sink.barrier()
            if waiter is not None:
                await waiter
        if i % 512 == 0:
            sink._kept.clear()  # the writer's commits would empty it
    elapsed = time.process_time() - t
    os.close(fd)
    proc.wait()
    return elapsed / len(records) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    records = [sample_record(i) for i in range(args.records)]
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, us in (
            ("batched (before), 64/frame", batched(records, 64)),
            ("immediate submit (now)", asyncio.run(immediate(records, False))),
            ("immediate submit + Ack seam (now)", asyncio.run(immediate(records, True))),
        ):
            best[name] = min(best.get(name, us), us)
    for name, us in best.items():
        print(f"{name:36s} {us:6.2f} µs/record")


if __name__ == "__main__":
    main()
