"""Helpers for the records end-to-end tests (audit, usage, shared limits) through a running gateway.

``gateway_config`` builds a gateway config over one ``FakeUpstream`` playing an EU provider;
``drive`` sends a scripted mix of requests (streamed, plain, personal data, unknown model,
upstream 500) with a plain aiohttp client and returns what the client saw; ``lockgate`` runs
the real CLI in-process; ``OUTAGES`` take the store away from a running gateway (a TCP gate in
front of PostgreSQL that refuses and cuts connections; another writer holding SQLite).
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import orjson
import yaml
from click.testing import CliRunner, Result
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from tests.support.gateway import remote
from tests.support.upstream import FakeUpstream

from lockgate.audit.tables import audit_log
from lockgate.audit.testing import pg_test_url, throwaway_database
from lockgate.auth.keys import create_key
from lockgate.cli import cli
from lockgate.records import RecordSink
from lockgate.storage.db import open_store

EMAIL = "maria.rossi@example-clinic.eu"
UNKNOWN_MODEL = "no-such-model"
PG_SKIP = "LOCKGATE_TEST_PG_URL is not set (scripts/pg.sh starts a server)"
S = TypeVar("S")
MODELS = ("ok", "fail500")
PRICE = {"currency": "EUR", "input_per_million": 0.5, "output_per_million": 1.5}


# -- stores ---------------------------------------------------------------------------------


@contextmanager
def _sqlite_store(state: Path) -> Iterator[str]:
    yield f"sqlite:///{state / 'lockgate.db'}"


@contextmanager
def _pg_store(_state: Path) -> Iterator[str]:
    base = pg_test_url()
    assert base is not None, PG_SKIP
    with throwaway_database(base) as url:
        yield url


STORES: dict[str, Callable[[Path], Any]] = {"sqlite": _sqlite_store, "postgresql": _pg_store}


@contextmanager
def opened(url: str) -> Iterator[Engine]:
    """The store at ``url``, migrated, disposed of afterwards."""
    engine = open_store(url)
    try:
        yield engine
    finally:
        engine.dispose()


def make_key(url: str, name: str, *, team: str | None = None) -> tuple[str, str]:
    """Create an API key in the store; returns (key id, secret)."""
    with opened(url) as engine:
        return create_key(engine, name, team=team)


def audit_rows(url: str) -> list[dict[str, Any]]:
    query = select(audit_log).order_by(audit_log.c.chain_id, audit_log.c.seq)
    with opened(url) as engine, engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def execute(url: str, statement: Any) -> int:
    with opened(url) as engine, engine.begin() as conn:
        return int(conn.execute(statement).rowcount)


def stored_bytes(state: Path, rows: list[dict[str, Any]]) -> bytes:
    """Everything the store holds that a search for a leaked value must cover: every file in
    the data directory (the SQLite database, its WAL) and the rows as read back."""
    files = b"".join(p.read_bytes() for p in sorted(state.rglob("*")) if p.is_file())
    return files + repr(rows).encode("utf-8", "replace")


# -- config and CLI -------------------------------------------------------------------------


def gateway_config(up: FakeUpstream, state: Path, url: str, **sections: Any) -> dict[str, Any]:
    """One EU provider (Mistral's catalogue facts) behind the aliases ``ok`` and ``fail500``,
    keys required, the ``eu-only`` policy by default; ``sections`` replace top-level sections."""
    cfg: dict[str, Any] = {
        "data_dir": str(state),
        "storage": {"url": url},
        "operator": {"domicile": "DE"},
        "auth": {"mode": "keys", "reload_interval": 60},
        "providers": {"eu": remote(up.url, catalogue="mistral", timeouts={"connect": 2, "read": 10})},
        "models": {
            name: {"deployments": [{"provider": "eu", "model": name, "price": PRICE}]} for name in MODELS
        },
        "policies": {"default": "eu-only", "pii_default": "eu-only"},
        "retry": {"attempts": 0, "backoff_initial": 0.01, "backoff_max": 0.05},
        "breaker": {"failure_threshold": 1_000_000},
    }
    cfg.update(sections)
    return cfg


def write_config(cfg: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(cfg))
    return path


def lockgate(*args: str) -> Result:
    """Run the ``lockgate`` command in-process (stdout and stderr kept apart)."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def sink_of(sinks: list[RecordSink], kind: type[S]) -> S:
    """The gateway's sink of one type (the audit writer, the limiter)."""
    return next(s for s in sinks if isinstance(s, kind))


# -- the request mix ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    kind: str
    model: str
    stream: bool
    text: str
    purpose: str | None = None


def _stream(i: int) -> Call:
    return Call("stream", "ok", True, " ".join(["word"] * (1 + i % 4) + [f"n{i}"]))


def _plain(i: int) -> Call:
    return Call("plain", "ok", False, f"hello number {i}", purpose="support")


def _email(i: int) -> Call:
    return Call("email", "ok", False, f"please write to {EMAIL} about case {i}")


def _unknown(i: int) -> Call:
    return Call("unknown", UNKNOWN_MODEL, False, "hello")


def _fail(i: int) -> Call:
    return Call("fail500", "fail500", i % 2 == 0, "hello")


#: one cycle of 50 requests: 24 streamed with usage, 22 plain, 2 with an e-mail address,
#: 1 for a model that does not exist, 1 the upstream answers with HTTP 500
CYCLE: tuple[Callable[[int], Call], ...] = (*([_stream, _plain] * 22), _stream, _email, _stream, _email,
                                             _unknown, _fail)  # fmt: skip


def call_for(i: int) -> Call:
    return CYCLE[i % len(CYCLE)](i)


@dataclass(slots=True)
class Sent:
    """One request as the client saw it."""

    call: Call
    status: int
    request_id: str
    headers: dict[str, str]
    request_body: bytes
    response_body: bytes
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: dict[str, Any] = field(default_factory=dict)


def _sse_usage(raw: bytes) -> dict[str, Any] | None:
    usage = None
    for line in raw.split(b"\n"):
        if line.startswith(b"data: {"):
            usage = orjson.loads(line[6:]).get("usage") or usage
    return usage


def _json_usage(raw: bytes) -> dict[str, Any] | None:
    got = orjson.loads(raw).get("usage")
    return got if isinstance(got, dict) else None


USAGE_OF: dict[bool, Callable[[bytes], dict[str, Any] | None]] = {True: _sse_usage, False: _json_usage}


def body_of(call: Call) -> dict[str, Any]:
    body: dict[str, Any] = {"model": call.model, "messages": [{"role": "user", "content": call.text}]}
    if call.stream:
        body.update(stream=True, stream_options={"include_usage": True})
    return body


async def send(session: aiohttp.ClientSession, base: str, key: str, call: Call) -> Sent:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    if call.purpose:
        headers["x-lockgate-purpose"] = call.purpose
    data = orjson.dumps(body_of(call))
    async with session.post(f"{base}/v1/chat/completions", data=data, headers=headers) as resp:
        raw = await resp.read()  # to EOF: the gateway has finished the request
        rid = resp.headers.get("x-request-id", "")
        sent = Sent(call, resp.status, rid, dict(resp.headers), data, raw)
    if sent.status != 200:
        sent.error = orjson.loads(raw).get("error") or {}
        return sent
    usage = USAGE_OF[call.stream](raw) or {}
    sent.prompt_tokens = int(usage.get("prompt_tokens", 0))
    sent.completion_tokens = int(usage.get("completion_tokens", 0))
    return sent


async def drive(base: str, key: str, n: int, concurrency: int = 32) -> list[Sent]:
    """Send ``call_for(0 .. n-1)`` with ``concurrency`` requests in flight; results in order."""
    results: list[Sent | None] = [None] * n
    numbers = iter(range(n))
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            for i in numbers:
                results[i] = await send(session, base, key, call_for(i))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [r for r in results if r is not None]


# -- taking the database away ---------------------------------------------------------------


class TcpGate:
    """A loopback TCP forwarder to ``target`` on threads of its own.  ``down()`` refuses new
    connections and cuts the open ones (the database is gone); ``up()`` serves again."""

    failures = 2  # the audit writer's batches fail while the gate is down

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0  # picked by the first up(), kept afterwards
        self.cut = 0
        self._serving = threading.Event()
        self._acceptor: threading.Thread | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        self.port = int(listener.getsockname()[1])
        listener.settimeout(0.05)
        self._serving.set()
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def down(self) -> None:
        self._serving.clear()
        if self._acceptor is not None:
            self._acceptor.join()  # the listener is closed once this returns
            self._acceptor = None
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            _shut(conn)
        self.cut += len(conns)

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while self._serving.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                client.settimeout(None)
                self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _shut(client)
            return
        upstream.settimeout(None)
        with self._lock:
            self._conns += [client, upstream]
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _shut(conn: socket.socket) -> None:
    with suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        conn.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    with suppress(OSError):
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    _shut(src)
    _shut(dst)


class SqliteHold:
    """Another writer holding the SQLite database (``BEGIN EXCLUSIVE``): while it is ``down()``
    every write of the gateway waits (busy timeout), i.e. a stalled store."""

    failures = 0  # the audit writer waits for the lock rather than failing

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def down(self) -> None:
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("BEGIN EXCLUSIVE")

    def up(self) -> None:
        if self._conn is not None:
            self._conn.execute("ROLLBACK")
            self._conn.close()
            self._conn = None


@contextmanager
def _pg_outage(state: Path) -> Iterator[tuple[str, TcpGate | SqliteHold]]:
    with _pg_store(state) as direct:
        target = make_url(direct)
        gate = TcpGate(target.host or "127.0.0.1", int(target.port or 5432))
        gate.up()  # the gateway reaches PostgreSQL only through the gate
        try:
            yield target.set(port=gate.port).render_as_string(hide_password=False), gate
        finally:
            gate.down()


@contextmanager
def _sqlite_outage(state: Path) -> Iterator[tuple[str, TcpGate | SqliteHold]]:
    hold = SqliteHold(state / "lockgate.db")
    try:
        yield f"sqlite:///{hold.path}", hold
    finally:
        hold.up()


#: store kind -> (store URL, a way to take that store away from a running gateway)
OUTAGES: dict[str, Callable[[Path], Any]] = {"sqlite": _sqlite_outage, "postgresql": _pg_outage}
