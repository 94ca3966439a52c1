"""The audit chain as the console shows it: heads, the last signed checkpoint, and
verification jobs that report how many chains and records are done (``audit.verify`` per chain,
with its progress hook counting walked records)."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from lockgate.audit.tables import audit_checkpoints, audit_heads, audit_log
from lockgate.audit.verify import verify


def chain_status(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        heads = {r.chain_id: r for r in conn.execute(select(audit_heads))}
        counts = {
            r.chain_id: int(r.n)
            for r in conn.execute(
                select(audit_log.c.chain_id, func.count().label("n")).group_by(audit_log.c.chain_id)
            )
        }
        out = []
        for chain_id in sorted(set(heads) | set(counts)):
            cp = conn.execute(
                select(audit_checkpoints)
                .where(audit_checkpoints.c.chain_id == chain_id)
                .order_by(audit_checkpoints.c.seq.desc(), audit_checkpoints.c.signed_at.desc())
                .limit(1)
            ).first()
            head = heads.get(chain_id)
            out.append({
                "chain_id": chain_id,
                "records": counts.get(chain_id, 0),
                "head": None if head is None else {"seq": int(head.seq), "record_hash": head.record_hash,
                                                   "updated_at": float(head.updated_at)},
                "last_checkpoint": None if cp is None else {
                    "seq": int(cp.seq), "record_hash": cp.record_hash, "signed_at": float(cp.signed_at),
                    "key_id": cp.key_id, "signature": cp.signature, "kind": cp.kind},
            })  # fmt: skip
    return out


@dataclass(slots=True)
class VerifyJob:
    id: str
    started_at: float
    chains: list[str]
    records: int  # counted when the job started; records written since are walked too
    done: list[dict[str, Any]] = field(default_factory=list)
    records_done: int = 0  # written by the verifying thread only
    finished_at: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "started_at": self.started_at, "finished_at": self.finished_at,
            "state": "failed" if self.error else ("done" if self.finished_at else "running"),
            "chains_total": len(self.chains), "chains_done": len(self.done),
            "records": max(self.records, self.records_done), "records_done": self.records_done,
            "ok": None if self.finished_at is None or self.error else all(c["ok"] for c in self.done),
            "results": self.done, "error": self.error,
        }  # fmt: skip

    def walked(self, n: int) -> None:
        self.records_done += n


class VerifyJobs:
    """Verification runs in a thread, one chain at a time; the latest jobs are kept in memory."""

    def __init__(self, keep: int = 20) -> None:
        self.keep = keep
        self.jobs: dict[str, VerifyJob] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, engine: Engine) -> VerifyJob:
        chains = await asyncio.to_thread(chain_status, engine)
        job = VerifyJob(secrets.token_hex(8), time.time(), [c["chain_id"] for c in chains],
                        sum(c["records"] for c in chains))  # fmt: skip
        self.jobs[job.id] = job
        while len(self.jobs) > self.keep:
            self.jobs.pop(next(iter(self.jobs)))
        task = asyncio.create_task(self._run(engine, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(self, engine: Engine, job: VerifyJob) -> None:
        try:
            for chain_id in job.chains:
                report = await asyncio.to_thread(verify, engine, None, [chain_id], job.walked)
                job.done.append(report.chains[0].as_dict())
        except Exception as exc:  # reported to the console, not raised into the loop
            job.error = f"{type(exc).__name__}: {exc}"
        job.finished_at = time.time()
