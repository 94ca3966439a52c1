"""``lockgate serve --workers 2`` as real processes, against a scripted upstream on loopback.

One supervisor, two workers on one port, one audit writer.  The tests run in file order on
one gateway: concurrent load lands on both workers and ``/metrics`` adds their counters up;
a per-key rate limit holds across the workers; a SIGKILLed worker is restarted and no
acknowledged request is lost; SIGTERM stops every process; and at the end the audit chain
holds every acknowledged request exactly once, from both workers, and verifies.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import yaml
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from tests.e2e.conftest import ThreadedStandIns, free_port

from lockgate.audit.tables import audit_log
from lockgate.auth.keys import create_key
from lockgate.cli import cli
from lockgate.storage.db import open_store

LIMIT = 60  # requests per minute of the key "limited"
SYNC = 0.1  # limits.sync_interval
HELLO = {"model": "ok", "messages": [{"role": "user", "content": "hi"}]}


@dataclass
class Fleet:
    base: str
    proc: subprocess.Popen[bytes]
    log: Path
    config: Path
    url: str
    keys: dict[str, str]
    acked: list[str] = field(default_factory=list)
    pids: set[int] = field(default_factory=set)  # every worker and writer pid seen

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def children(pid: int, marker: bytes) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and marker in cmd and ") Z " not in stat:
            found.append(int(entry))
    return sorted(found)


def workers_of(fleet: Fleet) -> list[int]:
    return children(fleet.proc.pid, b"lockgate.server.workerproc")


def writers_of(fleet: Fleet) -> list[int]:
    return children(fleet.proc.pid, b"lockgate.audit.worker")


def _config(tmp: Path, url: str, upstream: str) -> str:
    cfg = {
        "data_dir": str(tmp / "state"),
        "storage": {"url": url},
        "auth": {"mode": "keys", "reload_interval": 1},
        "providers": {"up": {"kind": "openai", "base_url": upstream}},
        "models": {"ok": {"deployments": [{"provider": "up", "model": "ok"}]}},
        "pii": {"enabled": False},
        "audit": {"batch_size": 64, "flush_interval": 0.05},
        "limits": {"keys": {"limited": {"requests_per_minute": LIMIT}}, "sync_interval": SYNC},
    }
    return yaml.safe_dump(cfg)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    tmp = tmp_path_factory.mktemp("workers")
    ups = ThreadedStandIns(("up",))
    ups.start()
    url = f"sqlite:///{tmp / 'lockgate.db'}"
    engine = open_store(url)
    keys = {name: create_key(engine, name)[1] for name in ("bulk", "limited")}
    engine.dispose()
    config = tmp / "lockgate.yaml"
    config.write_text(_config(tmp, url, ups.ups["up"].url))
    port = free_port()
    log = tmp / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lockgate", "serve", "-c", str(config), "--port", str(port), "--workers", "2"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    fleet = Fleet(f"http://127.0.0.1:{port}", proc, log, config, url, keys)
    try:
        _wait_ready(fleet)
        yield fleet
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        ups.stop()


def _wait_ready(fleet: Fleet, within: float = 240.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert fleet.proc.poll() is None, f"serve exited with {fleet.proc.returncode}:\n{fleet.log_text()}"
        try:
            with urllib.request.urlopen(fleet.base + "/readyz", timeout=2) as r:
                if r.status == 200 and "2 workers" in fleet.log_text():
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"not ready after {within}s:\n{fleet.log_text()}")


async def call(http: aiohttp.ClientSession, fleet: Fleet, key: str) -> tuple[int, str]:
    """One chat completion; returns (status, worker).  A whole 200 answer counts as acknowledged."""
    headers = {"Authorization": f"Bearer {fleet.keys[key]}"}
    async with http.post(fleet.base + "/v1/chat/completions", json=HELLO, headers=headers) as r:
        body = await r.read()
        if r.status == 200:
            json.loads(body)
            fleet.acked.append(r.headers["x-request-id"])
        return r.status, r.headers["x-lockgate-worker"]


def scrape(fleet: Fleet) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """One /metrics scrape on a fresh connection: sample name -> labels -> value."""
    with urllib.request.urlopen(fleet.base + "/metrics", timeout=10) as r:
        text = r.read().decode()
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def served_200(sample: dict[str, dict[tuple[tuple[str, str], ...], float]]) -> float:
    return sum(
        v for labels, v in sample.get("lockgate_requests_total", {}).items() if ("status", "200") in labels
    )


async def test_load_lands_on_both_workers_and_metrics_add_up(fleet: Fleet) -> None:
    fleet.pids.update(workers_of(fleet) + writers_of(fleet))
    assert len(workers_of(fleet)) == 2 and len(writers_of(fleet)) == 1
    before = served_200(scrape(fleet))
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(connector=connector) as http:
        results = await asyncio.gather(*(call(http, fleet, "bulk") for _ in range(300)))
    assert Counter(status for status, _ in results) == {200: 300}
    by_worker = Counter(worker for _, worker in results)
    assert set(by_worker) == {"0", "1"}, f"one worker served everything: {by_worker}"
    print(f"300 requests at c=32: by worker {dict(by_worker)}")
    for _ in range(6):  # scrapes land on either worker; each must answer for both
        sample = scrape(fleet)
        assert served_200(sample) - before == 300
        assert {dict(labels)["worker"] for labels in sample["lockgate_worker_info"]} == {"0", "1"}
        assert sample["lockgate_circuit_open"], "gauges are merged, not dropped"


async def test_rate_limit_holds_within_ten_percent_across_workers(fleet: Fleet) -> None:
    into = time.time() % 60
    if into > 40:  # one minute window throughout, so the limit is exactly LIMIT
        await asyncio.sleep(60.5 - into)
    statuses: list[tuple[int, str]] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        for _ in range(2 * LIMIT // 8):  # waves of 8 concurrent requests, a few syncs apart
            statuses += await asyncio.gather(*(call(http, fleet, "limited") for _ in range(8)))
            await asyncio.sleep(3 * SYNC)
    admitted = sum(1 for status, _ in statuses if status == 200)
    assert {status for status, _ in statuses} == {200, 429}
    assert {worker for _, worker in statuses} == {"0", "1"}
    print(f"limit {LIMIT}/min: admitted {admitted} of {len(statuses)}")
    assert LIMIT <= admitted <= LIMIT * 1.1, f"{admitted} admitted for a limit of {LIMIT} per minute"


async def test_killed_worker_is_restarted_and_no_acknowledged_record_is_lost(fleet: Fleet) -> None:
    victim, survivor = workers_of(fleet)
    stop = asyncio.Event()
    failed = 0

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal failed
        while not stop.is_set():
            try:
                await call(http, fleet, "bulk")
            except (aiohttp.ClientError, KeyError):
                failed += 1  # in flight on the killed worker: not acknowledged, not counted
                await asyncio.sleep(0.01)

    start = len(fleet.acked)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        tasks = [asyncio.create_task(client(http)) for _ in range(8)]
        deadline = time.monotonic() + 120
        while len(fleet.acked) < start + 200:
            assert time.monotonic() < deadline, "the load does not progress"
            await asyncio.sleep(0.05)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while victim in workers_of(fleet) or len(workers_of(fleet)) < 2:
            assert time.monotonic() < deadline, f"worker not restarted:\n{fleet.log_text()}"
            await asyncio.sleep(0.1)
        mark = len(fleet.acked)
        replacement = next(p for p in workers_of(fleet) if p != survivor)
        while len(fleet.acked) < mark + 200 or replacement not in _worker_pids_in_metrics(fleet):
            assert time.monotonic() < deadline, f"the restarted worker does not serve:\n{fleet.log_text()}"
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*tasks)
    fleet.pids.update(workers_of(fleet))
    assert "exited with -9; restarting it" in fleet.log_text()
    print(f"killed worker {victim}: {failed} requests failed in flight; replacement {replacement}")
    assert failed < 50, f"{failed} requests failed around the kill"


def _worker_pids_in_metrics(fleet: Fleet) -> set[int]:
    return {int(dict(labels)["pid"]) for labels in scrape(fleet)["lockgate_worker_info"]}


def test_sigterm_stops_every_process_and_the_chain_holds_every_acknowledged_request(fleet: Fleet) -> None:
    fleet.pids.update(writers_of(fleet))
    fleet.proc.send_signal(signal.SIGTERM)
    assert fleet.proc.wait(90) == 0, fleet.log_text()
    orphans = [pid for pid in fleet.pids if Path(f"/proc/{pid}").exists()]
    assert not orphans, f"still running after SIGTERM: {orphans}"
    engine = open_store(fleet.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(audit_log.c.request_id, audit_log.c.instance)).all()
    finally:
        engine.dispose()
    stored = Counter(str(r.request_id) for r in rows)
    missing = [rid for rid in fleet.acked if rid not in stored]
    doubled = [rid for rid, n in stored.items() if n > 1]
    assert not missing, f"{len(missing)} of {len(fleet.acked)} acknowledged requests are not in the chain"
    assert not doubled, f"{len(doubled)} records appear twice"
    assert {str(r.instance).rsplit("/", 1)[1] for r in rows} == {"w0", "w1"}
    out = CliRunner().invoke(cli, ["audit", "verify", "--json", "-c", str(fleet.config)])
    assert out.exit_code == 0, out.output
    (chain,) = json.loads(out.output)["chains"]
    assert chain["last_seq"] == len(rows), "gaps or extra rows in the chain"
    assert chain["last_signed_seq"] == chain["last_seq"], "the head was not signed at the end"
