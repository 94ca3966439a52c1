"""Rate limits through running gateways: two instances on one PostgreSQL store enforce one shared
requests-per-minute limit (within the documented sync lag), refusals are OpenAI-shaped 429s with
Retry-After, and a streamed answer's tokens count against tokens-per-minute once it ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.e2e.conftest_records import (
    PG_SKIP,
    Call,
    Sent,
    audit_rows,
    gateway_config,
    lockgate,
    make_key,
    send,
    sink_of,
    write_config,
)
from tests.support.gateway import running_gateway
from tests.support.upstream import FakeUpstream

from lockgate.audit.testing import pg_test_url, throwaway_database
from lockgate.server.gateway import Gateway
from lockgate.usage.limits import Limiter

SYNC = 0.2  # limits.sync_interval, seconds
LIMIT = 20  # requests per minute for every key
BURST = 3  # requests per instance between two pauses
PAUSE = 3 * SYNC  # longer than a sync interval: each instance syncs at least once in between
HELLO = Call("plain", "ok", False, "hello")
LONG_STREAM = Call("stream", "ok", True, " ".join(["word"] * 40))  # 11 + 42 tokens


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = pg_test_url()
    if base is None:
        pytest.skip(PG_SKIP)
    with throwaway_database(base) as url:
        yield url


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as made:
        yield made


def limited(up: FakeUpstream, tmp_path: Path, url: str, instance: str, **limit: Any) -> dict[str, Any]:
    """A gateway config for ``instance`` (own data_dir and signing key) on the store ``url``."""
    limits = {"default_key": limit, "sync_interval": SYNC}
    return gateway_config(up, tmp_path / instance, url, server={"instance_id": instance}, limits=limits)


async def outside_minute_edge() -> None:
    """Start well inside a minute, so the sliding window's previous minute is empty throughout."""
    into = time.time() % 60
    if into > 50:
        await asyncio.sleep(60.5 - into)


def check_refusal(sent: Sent, what: str) -> None:
    """HTTP 429 in OpenAI's error shape with a whole-second Retry-After of at least 1."""
    assert sent.status == 429
    assert int(sent.headers["Retry-After"]) >= 1
    err = sent.error
    assert (err["type"], err["code"], err["param"]) == ("rate_limit_error", "rate_limit_exceeded", None)
    assert what in err["message"] and "'shared-bot'" in err["message"]


@pytest.mark.postgres
async def test_two_instances_share_one_requests_per_minute_limit(
    pg_url: str, tmp_path: Path, upstream: FakeUpstream, session: aiohttp.ClientSession
) -> None:
    _, secret = make_key(pg_url, "shared-bot")
    configs = [
        limited(upstream, tmp_path, pg_url, name, requests_per_minute=LIMIT) for name in ("gw-a", "gw-b")
    ]
    await outside_minute_edge()
    sent: list[tuple[str, Sent]] = []
    async with AsyncExitStack() as stack:
        bases = [(await stack.enter_async_context(running_gateway(c, tmp_path)))[0] for c in configs]
        for _ in range(8):
            for _ in range(BURST):
                for name, base in zip(("gw-a", "gw-b"), bases, strict=True):
                    sent.append((name, await send(session, base, secret, HELLO)))
            await asyncio.sleep(PAUSE)
    accepted = {name: sum(s.status == 200 for n, s in sent if n == name) for name in ("gw-a", "gw-b")}
    total = sum(accepted.values())
    print(f"\naccepted per instance {accepted}, {len(sent) - total} refused of {len(sent)}")
    # one shared limit: each instance alone would have accepted LIMIT; together they may exceed it
    # only by what the other instance accepted within one sync interval (docs/limits.md)
    assert LIMIT <= total <= LIMIT + BURST
    assert all(0 < n < LIMIT for n in accepted.values())
    refused = [s for _, s in sent if s.status != 200]
    assert len(refused) == len(sent) - total
    for s in refused:
        check_refusal(s, "requests per minute")
    # both instances appended to one audit chain, refused requests included
    rows = audit_rows(pg_url)
    assert len(rows) == len(sent) and {r["instance"] for r in rows} == {"gw-a", "gw-b"}
    assert sorted(r["status"] for r in rows) == sorted(s.status for _, s in sent)
    pins: list[str] = []
    for config in configs:  # each instance signs with its own key: trust both
        path = write_config(config, tmp_path / "lockgate.yaml")
        pem = tmp_path / f"{config['server']['instance_id']}.pem"
        pem.write_text(lockgate("audit", "pubkey", "-c", str(path)).stdout)
        pins += ["--public-key", str(pem)]
    verified = lockgate("audit", "verify", "-c", str(tmp_path / "lockgate.yaml"), *pins)
    assert verified.exit_code == 0, verified.output


async def stream_then_refuse(
    streamer: tuple[str, Gateway], other: tuple[str, Gateway], secret: str, session: aiohttp.ClientSession
) -> None:
    """A streamed answer that pushes the key past tokens_per_minute completes; once its tokens
    are counted (and synced to ``other``), the next request on ``other`` is refused."""
    streamed = await send(session, streamer[0], secret, LONG_STREAM)
    assert streamed.status == 200 and streamed.response_body.endswith(b"data: [DONE]\n\n")
    assert streamed.prompt_tokens + streamed.completion_tokens == 11 + 42
    limiter = sink_of(other[1].sinks, Limiter)
    key = other[1].auth.authenticate({"Authorization": f"Bearer {secret}"})
    for _ in range(200):  # the background sync brings the streamer's tokens over (bounded wait)
        if limiter.peek(key.id, key.name, key.team) is not None:
            break
        await asyncio.sleep(SYNC / 2)
    check_refusal(await send(session, other[0], secret, HELLO), "tokens per minute")


async def test_streamed_tokens_stop_the_next_request(
    tmp_path: Path, upstream: FakeUpstream, session: aiohttp.ClientSession
) -> None:
    url = f"sqlite:///{tmp_path / 'gw' / 'lockgate.db'}"
    _, secret = make_key(url, "shared-bot")
    await outside_minute_edge()
    async with running_gateway(limited(upstream, tmp_path, url, "gw", tokens_per_minute=30), tmp_path) as gw:
        await stream_then_refuse(gw, gw, secret, session)


@pytest.mark.postgres
async def test_streamed_tokens_on_one_instance_stop_the_other(
    pg_url: str, tmp_path: Path, upstream: FakeUpstream, session: aiohttp.ClientSession
) -> None:
    _, secret = make_key(pg_url, "shared-bot")
    await outside_minute_edge()
    configs = [limited(upstream, tmp_path, pg_url, name, tokens_per_minute=30) for name in ("gw-a", "gw-b")]
    async with running_gateway(configs[0], tmp_path) as a, running_gateway(configs[1], tmp_path) as b:
        assert (await send(session, b[0], secret, HELLO)).status == 200  # b has room before the stream
        await stream_then_refuse(a, b, secret, session)
