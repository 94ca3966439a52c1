"""The audit writer process: a SIGKILLed gateway loses at most the records it had not yet
shipped (SHIP_INTERVAL); the writer flushes what it received and the chain verifies."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp
from click.testing import CliRunner
from sqlalchemy import select
from tests.conftest import start_served_gateway
from tests.support.upstream import FakeUpstream

from lockgate.audit.remote import SHIP_INTERVAL
from lockgate.audit.tables import audit_log
from lockgate.cli import cli
from lockgate.storage.db import open_store


async def test_sigkilled_gateway_loses_only_the_unshipped_window(tmp_path: Path) -> None:
    up = FakeUpstream("up")
    await up.start()
    state = tmp_path / "state"
    config = (
        f"data_dir: {state}\nproviders:\n  up: {{kind: openai, base_url: '{up.url}'}}\n"
        "models:\n  ok: {deployments: [{provider: up, model: ok}]}\npii: {enabled: false}\n"
    )
    acknowledged: list[tuple[str, float]] = []
    enough = asyncio.Event()
    try:
        gw = start_served_gateway(tmp_path, config)
        body = {"model": "ok", "messages": [{"role": "user", "content": "hi"}]}

        async def client(http: aiohttp.ClientSession) -> None:
            while True:
                async with http.post(gw.base_url + "/v1/chat/completions", json=body) as r:
                    await r.read()
                    acknowledged.append((r.headers["x-request-id"], time.monotonic()))
                    if len(acknowledged) >= 1500:
                        enough.set()

        async with aiohttp.ClientSession() as http:
            tasks = [asyncio.create_task(client(http)) for _ in range(8)]
            await enough.wait()
            gw.proc.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            await asyncio.gather(*tasks, return_exceptions=True)
        gw.proc.wait(10)
    finally:
        await up.close()
    store = open_store(f"sqlite:///{state / 'lockgate.db'}")
    stored: set[str] = set()
    for _ in range(100):  # the writer flushes what it received, then exits on its own
        with store.connect() as conn:
            stored = {r for (r,) in conn.execute(select(audit_log.c.request_id))}
        if len(stored) >= len(acknowledged) - 1000:
            await asyncio.sleep(0.3)
            with store.connect() as conn:
                stored = {r for (r,) in conn.execute(select(audit_log.c.request_id))}
            break
        await asyncio.sleep(0.1)
    older = [rid for rid, at in acknowledged if killed_at - at > SHIP_INTERVAL + 0.05]
    missing = [rid for rid in older if rid not in stored]
    assert older and not missing, f"{len(missing)} of {len(older)} acknowledged records are missing"
    lost = len([rid for rid, _ in acknowledged if rid not in stored])
    print(f"acknowledged {len(acknowledged)}, stored {len(stored)}, lost {lost} (all within the ship window)")
    cfg = tmp_path / "lockgate.yaml"
    verified = CliRunner().invoke(cli, ["audit", "verify", "-c", str(cfg)])
    assert verified.exit_code == 0, verified.output
