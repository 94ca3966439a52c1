"""The request path against a scripted upstream: happy paths, fault injection, limits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import openai
import orjson
import pytest
from tests.support.gateway import remote, running_gateway
from tests.support.upstream import FakeUpstream


def _cfg(up: FakeUpstream, models: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "providers": {"up": remote(up.url, timeouts={"connect": 2, "read": 1.0})},
        "models": models
        or {name: {"deployments": [{"provider": "up", "model": name}]}
            for name in ("ok", "slow", "fail500", "overload429", "overload503", "malformed", "reset", "cut",
                         "bad400", "hang")},
        "retry": {"attempts": 1, "backoff_initial": 0.01, "backoff_max": 0.05},
        "pii": {"enabled": False},
        **extra,
    }  # fmt: skip


def _client(base: str, key: str = "none") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base + "/v1", api_key=key, max_retries=0)


async def test_chat_non_streaming_relays_text_usage_and_headers(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with running_gateway(_cfg(upstream), tmp_path) as (base, _):
        raw = await _client(base).chat.completions.with_raw_response.create(
            model="ok", messages=[{"role": "user", "content": "hello there"}]
        )
        reply = raw.parse()
    assert reply.choices[0].message.content == "fake says: hello there"
    assert reply.usage is not None and reply.usage.prompt_tokens == 11 and reply.usage.completion_tokens == 7
    assert raw.headers["x-lockgate-provider"] == "up"
    assert raw.headers["x-lockgate-deployment"] == "up/ok"
    assert raw.headers["x-request-id"].startswith("req_")
    assert float(raw.headers["x-lockgate-overhead-ms"]) >= 0
    # the upstream got its own model name and lockgate's key, not the client's
    assert upstream.requests[0]["model"] == "ok"
    assert upstream.headers[0]["Authorization"] == "Bearer sk-upstream-secret-123"


@pytest.mark.parametrize("usage_choices", [[], None])
async def test_stream_strips_usage_unless_asked(tmp_path: Path, usage_choices: Any) -> None:
    up = FakeUpstream("fake", usage_choices=usage_choices)
    await up.start()
    try:
        async with running_gateway(_cfg(up), tmp_path) as (base, _):
            client = _client(base)
            plain = [
                c
                async for c in await client.chat.completions.create(
                    model="ok", messages=[{"role": "user", "content": "a b c"}], stream=True
                )
            ]
            asked = [c async for c in await client.chat.completions.create(
                model="ok", messages=[{"role": "user", "content": "a b c"}], stream=True,
                stream_options={"include_usage": True})]  # fmt: skip
    finally:
        await up.close()
    assert all(c.usage is None for c in plain)
    text = "".join(c.choices[0].delta.content or "" for c in plain if c.choices)
    assert text == "fake says: a b c"
    assert asked[-1].usage is not None and asked[-1].usage.completion_tokens == 5
    # lockgate always asked upstream for usage so it can count streamed tokens
    assert all(r["stream_options"]["include_usage"] for r in up.requests)


async def test_retry_on_503_then_success(upstream: FakeUpstream, tmp_path: Path) -> None:
    upstream.fail_first = 1
    async with running_gateway(_cfg(upstream), tmp_path) as (base, _):
        reply = await _client(base).chat.completions.create(
            model="ok", messages=[{"role": "user", "content": "x"}]
        )
    assert reply.choices[0].message.content == "fake says: x"
    assert len(upstream.requests) == 2


async def test_429_passes_through_with_retry_after(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with running_gateway(_cfg(upstream, retry={"attempts": 0}), tmp_path) as (base, _):
        with pytest.raises(openai.RateLimitError) as info:
            await _client(base).chat.completions.create(
                model="overload429", messages=[{"role": "user", "content": "x"}]
            )
    assert info.value.response.headers["Retry-After"] == "7"
    assert info.value.body["code"] == "upstream_overloaded"  # type: ignore[index]


async def test_503_passes_through_after_retries(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with running_gateway(_cfg(upstream), tmp_path) as (base, _):
        with pytest.raises(openai.InternalServerError) as info:
            await _client(base).chat.completions.create(
                model="overload503", messages=[{"role": "user", "content": "x"}]
            )
    assert info.value.status_code == 503
    assert info.value.response.headers["Retry-After"] == "3"
    assert len(upstream.requests) == 2  # one try + one retry


async def test_non_retryable_400_is_not_retried_and_secrets_are_scrubbed(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with running_gateway(_cfg(upstream), tmp_path) as (base, _):
        with pytest.raises(openai.BadRequestError) as info:
            await _client(base).chat.completions.create(
                model="bad400", messages=[{"role": "user", "content": "x"}]
            )
    assert len(upstream.requests) == 1
    text = info.value.response.text
    assert "sk-upstream-secret-123" not in text and "[redacted]" in text


async def test_timeout_gives_504(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with running_gateway(_cfg(upstream, retry={"attempts": 0}), tmp_path) as (base, _):
        with pytest.raises(openai.APIStatusError) as info:
            await _client(base).chat.completions.create(
                model="slow", messages=[{"role": "user", "content": "x"}]
            )
    assert info.value.status_code == 504
    assert info.value.body["code"] == "upstream_timeout"  # type: ignore[index]


async def test_connection_reset_gives_502(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with running_gateway(_cfg(upstream, retry={"attempts": 0}), tmp_path) as (base, _):
        with pytest.raises(openai.APIStatusError) as info:
            await _client(base).chat.completions.create(
                model="reset", messages=[{"role": "user", "content": "x"}]
            )
    assert info.value.status_code == 502


async def test_malformed_upstream_json_gives_502(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with running_gateway(_cfg(upstream), tmp_path) as (base, _):
        with pytest.raises(openai.APIStatusError) as info:
            await _client(base).chat.completions.create(
                model="malformed", messages=[{"role": "user", "content": "x"}]
            )
    assert info.value.status_code == 502
    assert "malformed" in info.value.message


async def test_fallback_to_next_deployment_on_500(tmp_path: Path) -> None:
    bad, good = FakeUpstream("bad"), FakeUpstream("good")
    await bad.start()
    await good.start()
    cfg = {
        "providers": {"bad": remote(bad.url), "good": remote(good.url)},
        "models": {"m": {"strategy": "ordered", "deployments": [{"provider": "bad", "model": "fail500"},
                                                                 {"provider": "good", "model": "ok"}]}},
        "retry": {"attempts": 0},
    }  # fmt: skip
    try:
        async with running_gateway(cfg, tmp_path) as (base, _):
            raw = await _client(base).chat.completions.with_raw_response.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )
    finally:
        await bad.close()
        await good.close()
    assert raw.headers["x-lockgate-provider"] == "good"
    assert raw.headers["x-lockgate-route"].startswith("fallback after bad/fail500: HTTP 500")


async def test_cut_mid_stream_ends_with_error_event(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with (
        running_gateway(_cfg(upstream), tmp_path) as (base, _),
        aiohttp.ClientSession() as http,
        http.post(
            base + "/v1/chat/completions",
            json={
                "model": "cut",
                "stream": True,
                "messages": [{"role": "user", "content": "one two three four"}],
            },
        ) as r,
    ):
        text = await r.text()
    events = [e for e in text.split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    err = orjson.loads(events[-2][len("data: ") :])
    assert err["error"]["code"] in ("stream_incomplete", "stream_interrupted")
    # the SDK surfaces the in-band error as an exception rather than hanging
    async with running_gateway(_cfg(upstream), tmp_path / "again") as (base, _):
        stream = await _client(base).chat.completions.create(
            model="cut", stream=True, messages=[{"role": "user", "content": "one two three four"}]
        )
        with pytest.raises(openai.APIError):
            async for _ in stream:
                pass


async def test_client_disconnect_cancels_upstream(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with running_gateway(_cfg(upstream), tmp_path) as (base, _):
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                base + "/v1/chat/completions",
                json={"model": "hang", "stream": True, "messages": [{"role": "user", "content": "x"}]},
            ) as r,
        ):
            async for line in r.content:
                if b"start" in line:
                    break
        for _ in range(100):
            if upstream.disconnects:
                break
            await asyncio.sleep(0.05)
    assert upstream.disconnects == 1


async def test_sixteen_concurrent_streams(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with running_gateway(_cfg(upstream), tmp_path) as (base, _):
        client = _client(base)

        async def one(i: int) -> str:
            stream = await client.chat.completions.create(
                model="ok", stream=True, messages=[{"role": "user", "content": f"n{i}"}]
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

        texts = await asyncio.gather(*(one(i) for i in range(16)))
    assert texts == [f"fake says: n{i}" for i in range(16)]


async def test_embeddings_and_completions(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with running_gateway(_cfg(upstream), tmp_path) as (base, _):
        client = _client(base)
        emb = await client.embeddings.create(model="ok", input=["a", "b"])
        comp = await client.completions.create(model="ok", prompt="hi")
    assert len(emb.data) == 2
    assert comp.choices is not None


@pytest.mark.parametrize(
    ("payload", "status", "param"),
    [
        (b"{not json", 400, None),
        (b"[1, 2]", 400, None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', 400, "model"),
        (b'{"model": "ok"}', 400, "messages"),
        (b'{"model": "ok", "messages": ["x"]}', 400, "messages[0]"),
        (b'{"model": "ok", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}', 400, "stream"),
        (b'{"model": "nope", "messages": [{"role": "user", "content": "x"}]}', 404, "model"),
    ],
)
async def test_bad_requests_get_openai_errors(
    upstream: FakeUpstream, tmp_path: Path, payload: bytes, status: int, param: str | None
) -> None:
    async with (
        running_gateway(_cfg(upstream), tmp_path) as (base, _),
        aiohttp.ClientSession() as http,
        http.post(
            base + "/v1/chat/completions", data=payload, headers={"Content-Type": "application/json"}
        ) as r,
    ):
        got, body = r.status, await r.json()
    assert got == status
    err = body["error"]
    assert set(err) >= {"message", "type", "param", "code"}
    assert err["param"] == param


async def test_body_limit_gives_413(upstream: FakeUpstream, tmp_path: Path) -> None:
    big = {"model": "ok", "messages": [{"role": "user", "content": "x" * 5000}]}
    async with (
        running_gateway(_cfg(upstream, server={"max_body_bytes": 2048}), tmp_path) as (base, _),
        aiohttp.ClientSession() as http,
        http.post(base + "/v1/chat/completions", json=big) as r,
    ):
        got, body = r.status, await r.json()
    assert got == 413
    assert "max_body_bytes" in body["error"]["message"]
    assert upstream.requests == []


async def test_unknown_route_and_method_in_openai_shape(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with running_gateway(_cfg(upstream), tmp_path) as (base, _), aiohttp.ClientSession() as http:
        async with http.get(base + "/v1/nothing") as r:
            missing = (r.status, await r.json())
        async with http.get(base + "/v1/chat/completions") as r:
            wrong = (r.status, await r.json())
    assert missing[0] == 404 and "openapi.json" in missing[1]["error"]["message"]
    assert wrong[0] == 405 and wrong[1]["error"]["type"] == "invalid_request_error"


async def test_models_healthz_readyz_metrics_openapi(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with running_gateway(_cfg(upstream), tmp_path) as (base, _):
        client = _client(base)
        models = await client.models.list()
        await client.chat.completions.create(model="ok", messages=[{"role": "user", "content": "x"}])
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/healthz") as r:
                health = r.status
            async with http.get(base + "/readyz") as r:
                ready = r.status
            async with http.get(base + "/metrics") as r:
                metrics = await r.text()
            async with http.get(base + "/openapi.json") as r:
                spec = await r.json()
    assert {m.id for m in models.data} >= {"ok", "slow"}
    assert health == 200 and ready == 200
    assert 'lockgate_requests_total{alias="ok",deployment="up/ok",status="200"}' in metrics
    assert "lockgate_request_duration_seconds_bucket" in metrics
    assert 'lockgate_tokens_total{alias="ok",deployment="up/ok",kind="completion"}' in metrics
    assert "/v1/chat/completions" in spec["paths"] and "/admin/keys" in spec["paths"]


async def test_team_policy_applies_on_top_of_key_policy(tmp_path: Path) -> None:
    eu, us = FakeUpstream("eu"), FakeUpstream("us")
    await eu.start()
    await us.start()
    cfg = {
        "providers": {"eu": remote(eu.url, catalogue="mistral"), "us": remote(us.url, catalogue="openai")},
        "models": {"m": {"strategy": "ordered", "deployments": [{"provider": "us", "model": "ok"},
                                                                 {"provider": "eu", "model": "ok"}]}},
        "policies": {"teams": {"legal": "eu-sovereign"}},
        "pii": {"enabled": False},
    }  # fmt: skip
    try:
        async with running_gateway(cfg, tmp_path) as (base, gw):
            from lockgate.auth.keys import create_key, load_principals

            assert gw.store is not None
            _, legal = create_key(gw.store, "l", team="legal")
            _, other = create_key(gw.store, "o", team="sales")
            gw.auth.replace(load_principals(gw.store))
            r1 = await _client(base, legal).chat.completions.with_raw_response.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )
            r2 = await _client(base, other).chat.completions.with_raw_response.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )
    finally:
        await eu.close()
        await us.close()
    assert r1.headers["x-lockgate-provider"] == "eu" and r1.headers["x-lockgate-policy"] == "eu-sovereign"
    assert r2.headers["x-lockgate-provider"] == "us"


async def test_unknown_team_policy_is_a_config_error(tmp_path: Path) -> None:
    from lockgate.errors import ConfigError

    up = FakeUpstream("u")
    await up.start()
    try:
        with pytest.raises(ConfigError, match="'nowhere'"):
            async with running_gateway({**_cfg(up), "policies": {"teams": {"x": "nowhere"}}}, tmp_path):
                pass
    finally:
        await up.close()
