"""The lean HTTP/1.1 upstream client (lockgate.providers.h1) against real loopback servers, on
asyncio's loop and uvloop: normal behaviour, TLS, bad input, reference cycles. Faults and
timeouts: test_h1_faults.py. Every test runs through ``run_clean``, which also fails it on
unclosed transports, tasks destroyed while pending, or exceptions nobody retrieved."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import ssl
from pathlib import Path

import pytest
from aiohttp import web
from tests.providers.h1_servers import (
    PATH,
    Run,
    Scripted,
    echo_app,
    pool,
    read_request,
    response,
    self_signed,
    web_upstream,
)

from lockgate.providers.h1 import H1BodyError, H1ConnectError, H1ConnectTimeout, H1Error, H1ReadTimeout
from lockgate.providers.h1conn import HIGH_WATER


def test_content_length_body_and_case_insensitive_headers(run: Run) -> None:
    async def main() -> None:
        async with web_upstream(echo_app()) as (_up, url):
            p = pool(url)
            resp = await p.post(PATH, b'{"a": 1}', {"Content-Type": "application/json"})
            assert resp.status == 200
            assert resp.headers["x-upstream"] == "echo" and resp.headers["CONTENT-TYPE"] == "application/json"
            assert await resp.read() == b'}1 :"a"{'
            resp.release()
            resp.close()  # both are no-ops once the body is complete
            await p.close()

    run(main())


def test_request_head_is_exactly_host_length_and_given_headers(run: Run) -> None:
    async def main() -> None:
        async def script(
            srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            await srv.serve_keepalive(reader, writer, response(body=b"{}"))

        async with Scripted(script) as srv:
            p = pool(srv.url)
            headers = {"Authorization": "Bearer k", "content-length": "999", "Connection": "close"}
            await (await p.post(PATH, b"12345", headers)).read()
            await (await p.post(PATH, b"", {"Host": "api.example", "X-A": "b"})).read()
            await p.close()
        first, second = srv.requests
        host = f"127.0.0.1:{srv.port}"
        assert (
            first
            == f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer k\r\nContent-Length: 5\r\n\r\n".encode()
        )
        assert (
            second
            == f"POST {PATH} HTTP/1.1\r\nHost: api.example\r\nX-A: b\r\nContent-Length: 0\r\n\r\n".encode()
        )

    run(main())


def test_chunked_body_streams_in_pieces(run: Run) -> None:
    async def stream(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(5):
            await resp.write(f"data: {i}\n\n".encode())
            await asyncio.sleep(0.01)
        await resp.write_eof()
        return resp

    async def main() -> None:
        app = web.Application()
        app.router.add_post(PATH, stream)
        async with web_upstream(app) as (up, url):
            p = pool(url)
            resp = await p.post(PATH, b"{}", {})
            assert resp.headers["Transfer-Encoding"] == "chunked"
            pieces = [chunk async for chunk in resp.iter_chunks()]
            assert len(pieces) >= 2  # delivered as they came, not all at the end
            assert b"".join(pieces) == b"".join(f"data: {i}\n\n".encode() for i in range(5))
            assert [chunk async for chunk in resp.iter_chunks()] == []
            await (await p.post(PATH, b"{}", {})).read()
            assert len(up.peers) == 1  # the connection was reused after the stream
            await p.close()

    run(main())


def test_chunked_with_trailers_keeps_headers_and_connection(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        reply = (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n"
        )
        await srv.serve_keepalive(reader, writer, reply)

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url)
            for _ in range(2):
                resp = await p.post(PATH, b"{}", {})
                assert await resp.read() == b"hello world"
                assert "X-Checksum" not in resp.headers and resp.headers["Trailer"] == "X-Checksum"
            assert srv.connections == 1
            await p.close()

    run(main())


def test_large_bodies_read_whole(run: Run) -> None:
    blob = bytes(range(256)) * (6 * 4096)  # 6 MiB

    async def big(request: web.Request) -> web.StreamResponse:
        assert await request.read() == blob
        if request.query.get("chunked"):
            resp = web.StreamResponse()
            await resp.prepare(request)
            for i in range(0, len(blob), 100_000):
                await resp.write(blob[i : i + 100_000])
            await resp.write_eof()
            return resp
        return web.Response(body=blob)

    async def main() -> None:
        app = web.Application(client_max_size=len(blob) + 1)
        app.router.add_post(PATH, big)
        async with web_upstream(app) as (_up, url):
            p = pool(url)
            for path in (PATH, PATH + "?chunked=1"):
                assert await (await p.post(path, blob, {})).read() == blob
            await p.close()

    run(main())


def test_flow_control_bounds_the_buffer_of_a_slow_consumer(run: Run) -> None:
    total = 8 * 1024 * 1024

    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n".encode())
        piece = b"x" * 65536
        for _ in range(total // len(piece)):
            writer.write(piece)
            await writer.drain()
        await srv.wait_disconnect(reader)

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url, read_timeout=0.5)
            resp = await p.post(PATH, b"{}", {})
            digest, got, peak = hashlib.sha256(), 0, 0
            async for chunk in resp.iter_chunks():
                digest.update(chunk)
                got += len(chunk)
                peak = max(peak, len(chunk))
                await asyncio.sleep(0.002)  # slower than loopback
            assert got == total and digest.digest() == hashlib.sha256(b"x" * total).digest()
            # reading pauses above the high-water mark; one socket read may overshoot it
            assert peak <= HIGH_WATER + 512 * 1024
            await p.close()

    run(main())


def test_keepalive_reuses_one_connection(run: Run) -> None:
    async def main() -> None:
        async with web_upstream(echo_app()) as (up, url):
            p = pool(url)
            for i in range(5):
                assert await (await p.post(PATH, str(i).encode(), {})).read() == str(i).encode()
            assert len(up.peers) == 1
            await p.close()

    run(main())


def test_limit_caps_connections_and_every_post_completes(run: Run) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)
        return web.Response(body=await request.read())

    async def main() -> None:
        app = web.Application()
        app.router.add_post(PATH, slow)
        async with web_upstream(app) as (up, url):
            p = pool(url, limit=2)

            async def one(i: int) -> bytes:
                resp = await p.post(PATH, str(i).encode(), {})
                return await resp.read()

            assert await asyncio.gather(*(one(i) for i in range(5))) == [str(i).encode() for i in range(5)]
            assert up.peak == 2 and len(up.peers) == 2
            await p.close()

    run(main())


def test_idle_connections_expire_after_keepalive(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await srv.serve_keepalive(reader, writer, response())

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url, keepalive=0.15)
            await (await p.post(PATH, b"", {})).read()
            await asyncio.wait_for(srv.disconnected.wait(), 2)  # the sweeper closed the idle socket
            await (await p.post(PATH, b"", {})).read()
            assert srv.connections == 2
            await p.close()

    run(main())


def test_keep_alive_timeout_header_shortens_reuse(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await srv.serve_keepalive(reader, writer, response(headers="Keep-Alive: timeout=1.2, max=100\r\n"))

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url)  # keepalive 30 s, but the server allows 1.2 s: reuse only within 0.2 s
            await (await p.post(PATH, b"", {})).read()
            await (await p.post(PATH, b"", {})).read()
            assert srv.connections == 1
            await asyncio.sleep(0.3)
            await (await p.post(PATH, b"", {})).read()
            assert srv.connections == 2
            await p.close()

    run(main())


@pytest.mark.parametrize(
    "reply",
    [
        response(headers="Connection: close\r\n"),
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nok",  # the body ends when the server closes
    ],
    ids=["connection-close", "http10", "http10-keep-alive", "until-close"],
)
def test_connections_the_server_ends_are_not_reused(run: Run, reply: bytes) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()
        if b"Content-Length" in reply:  # a client that reuses this would hang: wait for its close
            await srv.wait_disconnect(reader)

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url, read_timeout=1.0)
            for _ in range(2):
                resp = await p.post(PATH, b"", {})
                assert resp.status == 200 and await resp.read() == b"ok"
            assert srv.connections == 2 and p._n == 0
            await p.close()

    run(main())


def test_5xx_with_retry_after_is_a_response_not_an_error(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        body = b'{"error": "overloaded"}'
        await srv.serve_keepalive(reader, writer, response(503, body, "Retry-After: 7\r\n", "Busy"))

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url)
            for _ in range(2):
                resp = await p.post(PATH, b"{}", {})
                assert resp.status == 503 and resp.headers["retry-after"] == "7"
                assert await resp.read() == b'{"error": "overloaded"}'
            assert srv.connections == 1
            await p.close()

    run(main())


def test_interim_1xx_and_bodyless_204(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        replies = [
            b"HTTP/1.1 100 Continue\r\n\r\n" + response(201, b"made"),
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ]
        for reply in replies:
            await read_request(reader)
            writer.write(reply)
        await srv.wait_disconnect(reader)

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url)
            resp = await p.post(PATH, b"", {})
            assert resp.status == 201 and await resp.read() == b"made"
            resp = await p.post(PATH, b"", {})
            assert resp.status == 204 and await resp.read() == b""
            assert srv.connections == 1
            await p.close()

    run(main())


def test_tls_with_a_trusted_self_signed_certificate(run: Run, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)

    async def main() -> None:
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(cert, key)
        async with web_upstream(echo_app(), tls=server_ctx) as (up, url):
            assert url.startswith("https://")
            p = pool(url, ssl_context=ssl.create_default_context(cafile=str(cert)))
            for _ in range(2):
                resp = await p.post(PATH, b"abc", {})
                assert resp.status == 200 and await resp.read() == b"cba"
            assert len(up.peers) == 1
            await p.close()
            untrusting = pool(url)  # the system trust store does not know this certificate
            with pytest.raises(H1ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await untrusting.post(PATH, b"abc", {})
            assert untrusting._n == 0
            await untrusting.close()

    run(main())


def test_bad_input_is_rejected_before_anything_is_sent(run: Run) -> None:
    for url in ("ftp://h/v1", "127.0.0.1:8080", "http://:80/v1", "http://h:99999/v1"):
        with pytest.raises(ValueError, match="invalid upstream URL") as info:
            pool(url)
        assert url in str(info.value)
    with pytest.raises(ValueError, match="limit"):
        pool("http://h/v1", limit=0)
    with pytest.raises(ValueError, match="read_timeout"):
        pool("http://h/v1", read_timeout=0)

    async def main() -> None:
        p = pool("http://127.0.0.1:9/v1")
        for path, headers in [
            (PATH, {"X-Bad": "a\r\nInjected: 1"}),
            (PATH, {"X-Bad\n": "a"}),
            (PATH, {"X Bad": "a"}),
            (PATH, {"X-Bad": "caf\u00e9\u2603"}),
            ("v1/no-slash", {}),
            ("/a b", {}),
        ]:
            for _ in range(2):  # a bad head is never cached
                with pytest.raises(ValueError):
                    await p.post(path, b"", headers)
        assert p._n == 0
        await p.close()

    run(main())


def test_no_reference_cycles_per_request(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await srv.serve_keepalive(reader, writer, response(body=b"{}", headers="Content-Type: x\r\n"))

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url)

            async def batch(k: int) -> None:
                for _ in range(k):
                    resp = await p.post(PATH, b"{}", {"Authorization": "Bearer k"})
                    await resp.read()
                    resp.release()

            await batch(50)
            gc.collect()
            gc.disable()
            try:
                await batch(500)
                unreachable = gc.collect()
            finally:
                gc.enable()
            assert unreachable < 50, unreachable  # not one cycle (or more) per request
            await p.close()

    run(main())


def test_errors_share_one_base() -> None:
    for cls in (H1ConnectError, H1ConnectTimeout, H1ReadTimeout, H1BodyError):
        assert issubclass(cls, H1Error)
    assert issubclass(H1ReadTimeout, TimeoutError) and not issubclass(H1BodyError, TimeoutError)
