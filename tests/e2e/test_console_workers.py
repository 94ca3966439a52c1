"""The console behind ``lockgate serve --workers 2`` (real processes, one port): a session
opened by one worker is honoured by the other, the streamed "verify now" works whichever
worker takes it, and signing out on one worker ends the session on both.

Every request goes on a fresh connection, so the kernel spreads them over both workers
(``x-lockgate-worker`` names the one that answered).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import yaml
from tests.e2e.conftest import ThreadedStandIns, free_port

from lockgate.auth.keys import create_key
from lockgate.storage.db import open_store

ROUNDS = 24  # fresh connections per check; both workers answer some of them


@dataclass
class Served:
    base: str
    admin_key: str
    proc: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("console-workers")
    ups = ThreadedStandIns(("up",))
    ups.start()
    url = f"sqlite:///{tmp / 'lockgate.db'}"
    engine = open_store(url)
    _, admin_key = create_key(engine, "ops", admin=True)
    engine.dispose()
    config = tmp / "lockgate.yaml"
    config.write_text(yaml.safe_dump({
        "data_dir": str(tmp / "state"), "storage": {"url": url}, "auth": {"mode": "keys"},
        "providers": {"up": {"kind": "openai", "base_url": ups.ups["up"].url}},
        "models": {"ok": {"deployments": [{"provider": "up", "model": "ok"}]}},
        "pii": {"enabled": False}, "audit": {"flush_interval": 0.05},
    }))  # fmt: skip
    port, log = free_port(), tmp / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lockgate", "serve", "-c", str(config), "--port", str(port), "--workers", "2"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_ready(f"http://127.0.0.1:{port}", proc, log)
        yield Served(f"http://127.0.0.1:{port}", admin_key, proc, log)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        ups.stop()


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, within: float = 240.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"serve exited with {proc.returncode}:\n{log.read_text(errors='replace')}"
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200 and "2 workers" in log.read_text(errors="replace"):
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"not ready after {within}s:\n{log.read_text(errors='replace')}")


def _fresh(jar: aiohttp.CookieJar) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True), cookie_jar=jar)


async def test_a_console_session_holds_on_every_worker(served: Served) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with _fresh(jar) as s:
        async with s.post(served.base + "/console/signin", data={"key": served.admin_key},
                          allow_redirects=False) as r:  # fmt: skip
            assert r.status == 303
        async with s.get(served.base + "/console/session") as r:
            csrf = (await r.json())["csrf"]
        workers, statuses = set(), []
        for _ in range(ROUNDS):
            async with s.get(served.base + "/admin/overview?hours=1") as r:
                statuses.append(r.status)
                workers.add(r.headers.get("x-lockgate-worker"))
        assert statuses == [200] * ROUNDS
        assert len(workers) == 2, workers  # both workers knew the session
        for _ in range(4):
            async with s.post(
                served.base + "/admin/audit/verify-stream", headers={"X-CSRF-Token": csrf}
            ) as r:
                assert r.status == 200
                last = json.loads((await r.text()).splitlines()[-1])
                assert last["state"] == "done" and last["ok"] is True
        async with s.post(served.base + "/console/signout", headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 200
    # the cookie, replayed after signing out, is refused by every worker
    replay = aiohttp.CookieJar(unsafe=True)
    replay.update_cookies({c.key: c.value for c in jar})
    async with _fresh(replay) as s:
        refused = set()
        for _ in range(ROUNDS):
            async with s.get(served.base + "/admin/overview") as r:
                refused.add((r.status, r.headers.get("x-lockgate-worker")))
        assert {status for status, _ in refused} == {401}
        assert len({w for _, w in refused}) == 2
