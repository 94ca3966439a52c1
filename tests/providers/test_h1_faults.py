"""The lean HTTP/1.1 upstream client (lockgate.providers.h1) against scripted loopback upstreams
that misbehave: refused, silent, slow, closing early, malformed, racing keep-alive; and callers
that give up (release, close, cancel, pool close). On asyncio's loop and uvloop, through
``run_clean`` (which also fails a test on leaked transports or tasks)."""

from __future__ import annotations

import asyncio

import pytest
from tests.providers.h1_servers import (
    PATH,
    Run,
    Scripted,
    echo_app,
    pool,
    read_request,
    response,
    web_upstream,
)

from lockgate.providers.h1 import H1BodyError, H1ConnectError, H1ConnectTimeout, H1ReadTimeout


def test_connect_refused_is_a_connect_error(run: Run) -> None:
    async def main() -> None:
        async with Scripted(lambda srv, n, r, w: asyncio.sleep(0)) as srv:
            url = srv.url
        p = pool(url)  # the server is gone: nothing listens on that port now
        with pytest.raises(H1ConnectError, match="cannot connect") as info:
            await p.post(PATH, b"", {})
        assert not isinstance(info.value, TimeoutError) and p._n == 0
        await p.close()

    run(main())


def test_connect_timeout_covers_the_tls_handshake(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await srv.wait_disconnect(reader)  # accepts TCP, never speaks TLS

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url.replace("http:", "https:"), connect_timeout=0.2)
            with pytest.raises(H1ConnectTimeout) as info:
                await p.post(PATH, b"", {})
            assert isinstance(info.value, TimeoutError) and isinstance(info.value, H1ConnectError)
            await asyncio.wait_for(srv.disconnected.wait(), 2)
            assert p._n == 0
            await p.close()

    run(main())


def test_read_timeout_waiting_for_the_head(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        await srv.wait_disconnect(reader)  # never answers

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url, read_timeout=0.2)
            with pytest.raises(H1ReadTimeout, match="no data"):
                await p.post(PATH, b"{}", {})
            await asyncio.wait_for(srv.disconnected.wait(), 2)  # the timeout closed the connection
            assert srv.connections == 1 and p._n == 0  # and it was not retried
            await p.close()

    run(main())


def test_read_timeout_mid_body_and_a_late_answer_within_it(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        await asyncio.sleep(0.1)  # a late head, but within the read timeout
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
        await srv.wait_disconnect(reader)  # then silence

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url, read_timeout=0.3)
            resp = await p.post(PATH, b"{}", {})
            chunks = resp.iter_chunks()
            assert await chunks.__anext__() == b"hello"
            with pytest.raises(H1ReadTimeout):
                await chunks.__anext__()
            with pytest.raises(H1ReadTimeout):
                await resp.read()
            await asyncio.wait_for(srv.disconnected.wait(), 2)
            await p.close()

    run(main())


def test_total_timeout_with_a_trickling_upstream(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(100):  # a byte every 50 ms never trips the read timeout
            writer.write(b"1\r\nx\r\n")
            await writer.drain()
            await asyncio.sleep(0.05)

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url, read_timeout=0.2, total_timeout=0.4)
            resp = await p.post(PATH, b"{}", {})
            got = b""
            with pytest.raises(H1ReadTimeout, match=r"within 0\.4s"):
                async for chunk in resp.iter_chunks():
                    got += chunk
            assert got.startswith(b"x") and p._n == 0
            await p.close()

    run(main())


def test_total_timeout_bounds_the_wait_for_a_free_connection(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        await asyncio.sleep(0.6)
        writer.write(response())
        await srv.wait_disconnect(reader)

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url, limit=1, total_timeout=1.5)
            first = asyncio.ensure_future(p.post(PATH, b"", {}))
            await asyncio.sleep(0.05)
            p._total = 0.2  # a later request with a shorter deadline than the one holding the slot
            with pytest.raises(H1ConnectTimeout, match="no connection") as info:
                await p.post(PATH, b"", {})  # queued behind ``first``
            assert isinstance(info.value, TimeoutError) and not p._waiters
            assert await (await first).read() == b"ok"
            assert srv.connections == 1
            await p.close()

    run(main())


@pytest.mark.parametrize(
    ("reply", "where"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "body"),  # closes right after the head
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nab", "body"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "head"),  # closes inside the head
        (b"HELLO THERE\r\n\r\n", "head"),  # not HTTP
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "head"),  # malformed framing
    ],
    ids=["after-head", "mid-chunked", "mid-head", "garbage", "bad-length"],
)
def test_broken_responses_are_body_errors(run: Run, reply: bytes, where: str) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url)
            if where == "head":
                with pytest.raises(H1BodyError):
                    await p.post(PATH, b"{}", {})
            else:
                resp = await p.post(PATH, b"{}", {})
                got = b""
                with pytest.raises(H1BodyError, match="closed before the body was complete"):
                    async for chunk in resp.iter_chunks():
                        got += chunk
                assert got == (b"helloab" if b"chunked" in reply else b"")  # a partial chunk is delivered too
                with pytest.raises(H1BodyError):
                    await resp.read()
            assert srv.connections == 1 and p._n == 0  # never retried
            await p.close()

    run(main())


def test_stale_keepalive_connection_is_retried_once_on_a_fresh_one(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(response(body=b"first"))
        await read_request(reader)  # the second request on this connection: close without a byte,
        # as a server does when its idle timeout fires just as the request goes out

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url)
            assert await (await p.post(PATH, b"1", {})).read() == b"first"
            assert await (await p.post(PATH, b"2", {})).read() == b"first"
            assert srv.connections == 2 and p._n == 1
            await p.close()

    run(main())


def test_stale_retry_happens_only_once(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        if n == 1:
            writer.write(response())
            await read_request(reader)  # then closes the reused connection without a byte

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url)
            await (await p.post(PATH, b"", {})).read()
            with pytest.raises(H1BodyError, match="before the response head"):
                await p.post(PATH, b"", {})  # the retry's fresh connection closes too
            assert srv.connections == 2 and p._n == 0
            await p.close()

    run(main())


def test_idle_close_by_the_server_is_noticed_before_reuse(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(response())
        await writer.drain()  # then the handler returns and the connection closes

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url)
            await (await p.post(PATH, b"", {})).read()
            await asyncio.sleep(0.1)
            assert not p._idle and p._n == 0
            await (await p.post(PATH, b"", {})).read()
            assert srv.connections == 2
            await p.close()

    run(main())


def test_release_without_reading_closes_instead_of_reusing(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"a" * 10)
        await srv.wait_disconnect(reader)

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url)
            resp = await p.post(PATH, b"", {})
            resp.release()
            resp.release()
            resp.close()
            await asyncio.wait_for(srv.disconnected.wait(), 2)
            with pytest.raises(H1BodyError, match="released"):
                await resp.read()
            assert p._n == 0 and not p._idle
            srv.disconnected.clear()
            resp = await p.post(PATH, b"", {})
            assert srv.connections == 2
            resp.close()
            await p.close()

    run(main())


def test_complete_body_released_unread_goes_back_to_the_pool(run: Run) -> None:
    async def main() -> None:
        async with web_upstream(echo_app()) as (up, url):
            p = pool(url)
            resp = await p.post(PATH, b"abc", {})
            await asyncio.sleep(0.05)  # the small body has arrived
            resp.release()
            assert await (await p.post(PATH, b"x", {})).read() == b"x"
            assert len(up.peers) == 1 and await resp.read() == b"cba"
            await p.close()

    run(main())


def test_close_mid_stream_disconnects_the_upstream(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b"6\r\ndata1\n\r\n")
        await srv.wait_disconnect(reader)  # an upstream generating until the client goes away

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url)
            resp = await p.post(PATH, b"", {})
            chunks = resp.iter_chunks()
            assert await chunks.__anext__() == b"data1\n"
            resp.close()
            await asyncio.wait_for(srv.disconnected.wait(), 2)
            with pytest.raises(H1BodyError, match="closed"):
                await chunks.__anext__()
            assert p._n == 0
            await p.close()

    run(main())


def test_pool_close_wakes_readers_waiters_and_refuses_new_posts(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await srv.wait_disconnect(reader)

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url, limit=1)
            resp = await p.post(PATH, b"", {})
            reading = asyncio.ensure_future(resp.read())
            waiting = asyncio.ensure_future(p.post(PATH, b"", {}))
            await asyncio.sleep(0.05)
            await p.close()
            with pytest.raises(H1BodyError, match="pool closed"):
                await reading
            with pytest.raises(H1ConnectError, match="pool closed"):
                await waiting
            with pytest.raises(H1ConnectError, match="pool closed"):
                await p.post(PATH, b"", {})
            await asyncio.wait_for(srv.disconnected.wait(), 2)
            await p.close()  # idempotent

    run(main())


def test_cancelled_post_closes_its_connection_and_frees_the_slot(run: Run) -> None:
    async def script(
        srv: Scripted, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        await srv.wait_disconnect(reader)

    async def main() -> None:
        async with Scripted(script) as srv:
            p = pool(srv.url, limit=1)
            task = asyncio.ensure_future(p.post(PATH, b"", {}))
            queued = asyncio.ensure_future(p.post(PATH, b"", {}))
            await asyncio.sleep(0.1)
            queued.cancel()
            task.cancel()
            for t in (task, queued):
                with pytest.raises(asyncio.CancelledError):
                    await t
            await asyncio.wait_for(srv.disconnected.wait(), 2)
            assert p._n == 0 and not p._waiters
            await p.close()

    run(main())
