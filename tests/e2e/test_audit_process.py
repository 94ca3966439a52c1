"""Zero acknowledged requests missing from the audit log, on SQLite and PostgreSQL.

A real ``lockgate serve`` process answers concurrent JSON and streamed requests (chat
completions with ``[DONE]``, Anthropic Messages ending in ``message_stop``, OpenAI Responses
ending in ``response.completed``).  Then either the gateway or its audit writer process is
SIGKILLed mid-load.  Every request whose complete answer a client received must be in the
chain, once, and ``lockgate audit verify`` must pass with the head signed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

import aiohttp
import yaml
from click.testing import CliRunner
from sqlalchemy import select
from tests.conftest import ServedGateway, start_served_gateway, stop_served_gateway
from tests.support.upstream import FakeUpstream

from lockgate.audit.tables import audit_log
from lockgate.cli import cli
from lockgate.storage.db import open_store

MESSAGE = [{"role": "user", "content": "hi"}]
#: (path, body, what the client must have received for the answer to be complete)
MIX: tuple[tuple[str, dict[str, object], bytes | None], ...] = (
    ("/v1/chat/completions", {"model": "ok", "messages": MESSAGE}, None),
    ("/v1/chat/completions", {"model": "ok", "messages": MESSAGE, "stream": True,
                              "stream_options": {"include_usage": True}}, b"data: [DONE]"),
    ("/v1/messages", {"model": "ok", "max_tokens": 16, "messages": MESSAGE, "stream": True},
     b"event: message_stop"),
    ("/v1/chat/completions", {"model": "ok", "messages": MESSAGE}, None),
    ("/v1/responses", {"model": "ok", "input": "hi", "stream": True, "store": False},
     b"event: response.completed"),
)  # fmt: skip


class Load:
    """Clients in a loop over ``MIX``; ``acked`` holds the ids of answers received whole."""

    def __init__(self, base: str, clients: int = 8) -> None:
        self.base = base
        self.clients = clients
        self.acked: list[str] = []
        self.failed = 0
        self.stop = False
        self._progress = asyncio.Event()

    async def _one(self, http: aiohttp.ClientSession, i: int) -> None:
        path, body, end = MIX[i % len(MIX)]
        async with http.post(self.base + path, json=body) as r:
            raw = await r.read()
            if r.status != 200:
                self.failed += 1
                return
            if end is None:
                json.loads(raw)  # the whole JSON body arrived
            elif end not in raw:
                self.failed += 1
                return
            self.acked.append(r.headers["x-request-id"])
            self._progress.set()

    async def _client(self, http: aiohttp.ClientSession, n: int) -> None:
        i = n
        while not self.stop:
            try:
                await self._one(http, i)
            except (aiohttp.ClientError, ValueError):
                self.failed += 1
                await asyncio.sleep(0.01)
            i += 1

    async def until(self, count: int, within: float = 40.0) -> None:
        deadline = time.monotonic() + within
        while len(self.acked) < count:
            assert time.monotonic() < deadline, f"only {len(self.acked)} answers after {within}s"
            self._progress.clear()
            await asyncio.wait_for(self._progress.wait(), max(0.1, deadline - time.monotonic()))

    def start(self, http: aiohttp.ClientSession) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(self._client(http, n)) for n in range(self.clients)]


def writer_pids(gateway_pid: int) -> list[int]:
    """The audit writer processes the gateway started (its children running the worker)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == gateway_pid and b"lockgate.audit.worker" in cmd:
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with_state = Path(f"/proc/{pid}/stat")
    return with_state.exists() and ") Z " not in with_state.read_text()


async def gone(pid: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while alive(pid):
        assert time.monotonic() < deadline, f"process {pid} still running after {within}s"
        await asyncio.sleep(0.05)


def start(tmp_path: Path, url: str, up: FakeUpstream) -> ServedGateway:
    cfg = {
        "data_dir": str(tmp_path / "state"),
        "storage": {"url": url},
        "providers": {"up": {"kind": "openai", "base_url": up.url}},
        "models": {"ok": {"deployments": [{"provider": "up", "model": "ok"}]}},
        "pii": {"enabled": False},
        "audit": {"batch_size": 64, "flush_interval": 0.05},
    }
    return start_served_gateway(tmp_path, yaml.safe_dump(cfg))


def check_chain(tmp_path: Path, url: str, acked: list[str]) -> None:
    engine = open_store(url)
    try:
        with engine.connect() as conn:
            stored = Counter(str(r) for r in conn.execute(select(audit_log.c.request_id)).scalars())
    finally:
        engine.dispose()
    missing = [rid for rid in acked if rid not in stored]
    doubled = [rid for rid, n in stored.items() if n > 1]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged requests are not in the chain"
    assert not doubled, f"{len(doubled)} records appear twice"
    out = CliRunner().invoke(cli, ["audit", "verify", "--json", "-c", str(tmp_path / "lockgate.yaml")])
    assert out.exit_code == 0, out.output
    (chain,) = json.loads(out.output)["chains"]
    assert chain["last_signed_seq"] == chain["last_seq"], "the head was not signed at the end"
    print(f"acknowledged {len(acked)}, stored {sum(stored.values())}, missing 0")


async def test_sigkilled_gateway_loses_no_acknowledged_record(store_url: str, tmp_path: Path) -> None:
    up = FakeUpstream("up")
    await up.start()
    try:
        gw = start(tmp_path, store_url, up)
        (writer,) = writer_pids(gw.proc.pid)
        load = Load(gw.base_url)
        async with aiohttp.ClientSession() as http:
            tasks = load.start(http)
            await load.until(600)
            gw.proc.send_signal(signal.SIGKILL)
            gw.proc.wait(10)
            load.stop = True
            await asyncio.gather(*tasks)
        await gone(writer)  # it reads the pipe to its end, commits, signs the head and exits
    finally:
        await up.close()
    check_chain(tmp_path, store_url, load.acked)


async def test_sigkilled_writer_is_restarted_and_loses_nothing(store_url: str, tmp_path: Path) -> None:
    up = FakeUpstream("up")
    await up.start()
    try:
        gw = start(tmp_path, store_url, up)
        load = Load(gw.base_url)
        try:
            async with aiohttp.ClientSession() as http:
                tasks = load.start(http)
                for target in (300, 600):  # kill it twice under load
                    await load.until(target)
                    (writer,) = writer_pids(gw.proc.pid)
                    os.kill(writer, signal.SIGKILL)
                    await gone(writer)
                await load.until(900)
                load.stop = True
                await asyncio.gather(*tasks)
            (replacement,) = writer_pids(gw.proc.pid)
            assert replacement != writer
            assert load.failed == 0, (
                "requests failed while the writer was restarted (on_writer_failure: wait)"
            )
        finally:
            assert stop_served_gateway(gw) == 0
        assert "the writer process died" in gw.log_text()
    finally:
        await up.close()
    check_chain(tmp_path, store_url, load.acked)
