"""Shared fixtures: scripted upstreams, in-process gateways, and the real bundled-model gateway."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from lockgate.audit.signing import Signer, load_or_create_key
from lockgate.audit.testing import pg_test_url, throwaway_database
from lockgate.storage.db import open_store
from tests.support.upstream import FakeUpstream

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every store-backed test runs on SQLite and, with LOCKGATE_TEST_PG_URL, on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = pg_test_url()
    if base is None:
        pytest.skip("LOCKGATE_TEST_PG_URL is not set (scripts/pg.sh starts a server)")
    with throwaway_database(base) as url:
        yield url


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    eng = open_store(store_url)
    yield eng
    eng.dispose()


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return load_or_create_key(tmp_path / "keys" / "audit-signing.key")


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    up = FakeUpstream("fake")
    await up.start()
    yield up
    await up.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServedGateway:
    def __init__(self, base_url: str, proc: subprocess.Popen[bytes], log: Path, data_dir: Path) -> None:
        self.base_url = base_url
        self.proc = proc
        self.log = log
        self.data_dir = data_dir

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_served_gateway(tmp: Path, config_text: str | None = None, env: dict[str, str] | None = None,
                         timeout: float = 180.0, workers: int | None = None) -> ServedGateway:  # fmt: skip
    """Start ``lockgate serve`` as a real process and wait until /readyz says ready and the
    "serving on" banner is out, i.e. every worker serves (``workers``: ``--workers N``; by
    default one per core, as a user gets it)."""
    port = _free_port()
    data_dir = tmp / "state"
    cfg = tmp / "lockgate.yaml"
    cfg.write_text(config_text or f"data_dir: {data_dir}\n" + _BUNDLED)
    log = tmp / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lockgate", "serve", "-c", str(cfg), "--port", str(port),
         *(["--workers", str(workers)] if workers else [])],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"lockgate serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                # one worker answers /readyz; the banner comes once every worker serves
                if r.status == 200 and "lockgate serving on" in log.read_text(errors="replace"):
                    return ServedGateway(base, proc, log, data_dir)
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"lockgate serve not ready after {timeout}s:\n{log.read_text()}")


def stop_served_gateway(gw: ServedGateway) -> int:
    gw.proc.terminate()
    try:
        return gw.proc.wait(30)
    except subprocess.TimeoutExpired:
        gw.proc.kill()
        return gw.proc.wait()


_BUNDLED = """
providers:
  local:
    kind: llamacpp
    engine: {model: "bundled:smollm2", replicas: 2, context: 2048}
models:
  smollm2:
    deployments: [{provider: local, model: smollm2}]
"""


@pytest.fixture(scope="session")
def bundled_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedGateway]:
    """One real gateway with the bundled SmolLM2 on llama.cpp, shared by the end-to-end tests.
    One worker: these tests read per-process state (/readyz in-flight counts, the engine's
    replicas) that a second worker would split; tests/e2e/test_workers.py covers several."""
    gw = start_served_gateway(tmp_path_factory.mktemp("bundled"), workers=1)
    yield gw
    stop_served_gateway(gw)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("headless Chromium is not installed (Debian package 'chromium')")
    return path
