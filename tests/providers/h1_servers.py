"""Loopback upstreams for the lean HTTP/1.1 client tests: an aiohttp.web server for normal
behaviour, scripted raw ``asyncio.start_server`` upstreams for fault injection, a self-signed
certificate, and a runner that executes a test on asyncio's loop or uvloop and fails it on
leaked transports or tasks."""

from __future__ import annotations

import asyncio
import datetime
import gc
import ipaddress
import logging
import ssl
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lockgate.providers.h1 import H1Pool

Run = Callable[[Coroutine[Any, Any, None]], None]
PATH = "/v1/chat/completions"


def pool(url: str, **kw: Any) -> H1Pool:
    """A pool with test defaults; ``kw`` overrides them."""
    opts: dict[str, Any] = {"limit": 4, "connect_timeout": 2.0, "read_timeout": 5.0, "total_timeout": 10.0}
    return H1Pool(url, **{**opts, **kw})


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.Response(body=body[::-1], headers={"X-Upstream": "echo", "Content-Type": "application/json"})


def echo_app() -> web.Application:
    app = web.Application()
    app.router.add_post(PATH, echo)
    return app


Script = Callable[["Scripted", int, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class _LoopErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_clean(kind: str, coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` on a fresh loop of ``kind``; fail on ResourceWarnings (unclosed transports) and on
    anything the loop logs (a task destroyed while pending, an exception never retrieved)."""

    async def main() -> None:
        await coro
        await asyncio.sleep(0.01)  # let closed transports run connection_lost
        gc.collect()

    handler = _LoopErrors()
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            if kind == "uvloop":
                uvloop.run(main())
            else:
                asyncio.run(main())
            gc.collect()
    finally:
        logger.removeHandler(handler)
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, leaks
    assert not handler.messages, handler.messages


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One request (head, body) as the client framed it with Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head, await reader.readexactly(length)


def response(status: int = 200, body: bytes = b"ok", headers: str = "", reason: str = "OK") -> bytes:
    return f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


class Scripted:
    """A raw upstream: each accepted connection runs ``script(self, n, reader, writer)``, n from 1."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0  # accepted so far
        self.open = 0
        self.peak = 0  # most connections open at once
        self.requests: list[bytes] = []  # raw request heads, if the script records them
        self.disconnected = asyncio.Event()  # set by scripts that see the client go away
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def __aenter__(self) -> Scripted:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()  # scripts waiting on the client see EOF and return
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=2)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._server.wait_closed()
        await asyncio.sleep(0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            await self.script(self, self.connections, reader, writer)
        except (ConnectionError, RuntimeError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away (uvloop: RuntimeError on write); a cancelled handler task would
            # make asyncio 3.11 streams log an error, so end quietly
        finally:
            self.open -= 1
            writer.close()
            self._tasks.discard(task)

    async def serve_keepalive(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reply: bytes
    ) -> None:
        """Answer every request on the connection with ``reply`` until the client closes it."""
        while True:
            try:
                head, _ = await read_request(reader)
            except asyncio.IncompleteReadError:
                self.disconnected.set()
                return
            self.requests.append(head)
            writer.write(reply)
            await writer.drain()

    async def wait_disconnect(self, reader: asyncio.StreamReader) -> None:
        """Block until the client closes or resets the connection."""
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass
        self.disconnected.set()


class WebUpstream:
    """An aiohttp.web upstream that counts the client connections it has seen."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.peers: set[tuple[str, int]] = set()
        self.inflight = 0
        self.peak = 0

        @web.middleware
        async def count(request: web.Request, handler: Any) -> web.StreamResponse:
            assert request.transport is not None
            self.peers.add(request.transport.get_extra_info("peername"))
            self.inflight += 1
            self.peak = max(self.peak, self.inflight)
            try:
                return await handler(request)  # type: ignore[no-any-return]
            finally:
                self.inflight -= 1

        app.middlewares.append(count)


@asynccontextmanager
async def web_upstream(
    app: web.Application, tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[WebUpstream, str]]:
    """Serve ``app`` on a free loopback port; yields (counter, base URL)."""
    up = WebUpstream(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield up, f"{'https' if tls else 'http'}://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by its own key: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lockgate h1 test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path
