"""Kill a writing process with SIGKILL mid-load: only the unflushed window is lost, the chain verifies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from lockgate.audit.tables import audit_log
from lockgate.audit.verify import verify
from lockgate.storage.db import open_store

CHILD = r"""
import asyncio, sys, time
from pathlib import Path
from lockgate.audit.signing import load_or_create_key
from lockgate.audit.testing import sample_record
from lockgate.audit.writer import AuditSink
from lockgate.storage.db import open_store

async def main(url: str, key: str) -> None:
    sink = AuditSink(open_store(url), load_or_create_key(Path(key)), batch_size=50, flush_interval=0.2,
                     checkpoint_every=100)
    await sink.start()
    i = 0
    while True:  # runs until killed
        for _ in range(20):
            sink.submit(sample_record(i))
            i += 1
        # submit() returned: these records are acknowledged; `written` ones are committed
        print(f"ACK {i} {sink.written} {time.time():.6f}", flush=True)
        await asyncio.sleep(0.005)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_sigkill_loses_only_the_unflushed_window(store_url: str, tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen(
        [sys.executable, str(script), store_url, str(tmp_path / "signing.key")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    acked = written = 0
    ack_times: dict[int, float] = {}
    for line in proc.stdout:
        _, a, w, t = line.split()
        acked, written = int(a), int(w)
        ack_times[acked] = float(t)
        if acked >= 1500 and written >= 500:  # well into the load, several batches committed
            break
    os.kill(proc.pid, signal.SIGKILL)
    killed_at = time.time()
    proc.wait()
    proc.stdout.close()

    engine = open_store(store_url)
    try:
        with engine.connect() as conn:
            ids = conn.execute(select(audit_log.c.request_id).order_by(audit_log.c.seq)).scalars().all()
        report = verify(engine)
    finally:
        engine.dispose()
    present = len(ids)
    assert report.ok, report.as_dict()
    # every record the child saw committed before it was killed is there, in order, without holes
    assert present >= written
    assert ids == [f"req-{i:06d}" for i in range(present)]
    # what is missing was acknowledged but still queued (at most the flush window's worth)
    lost = max(0, acked - present)
    assert lost <= acked - written
    first_lost_ack = min((t for n, t in ack_times.items() if n > present), default=killed_at)
    print(
        f"\ncrash test ({store_url.split(':')[0]}): acknowledged {acked}, committed-before-kill {written}, "
        f"present {present}, lost {lost} (oldest lost record acknowledged "
        f"{killed_at - first_lost_ack:.3f}s before the kill; flush_interval 0.2s)"
    )
