"""Records you can prove, end to end: thousands of requests through a running gateway leave an
audit chain that verifies, usage that matches the upstream exactly, pseudonymous records with
personal-data counts only, a tampered row that is found and named, encrypted content logging,
and records that survive the database going away while requests keep being served."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from tests.e2e.conftest_records import (
    EMAIL,
    OUTAGES,
    PG_SKIP,
    STORES,
    UNKNOWN_MODEL,
    Sent,
    audit_rows,
    drive,
    execute,
    gateway_config,
    lockgate,
    make_key,
    sink_of,
    stored_bytes,
    write_config,
)
from tests.support.gateway import running_gateway
from tests.support.upstream import FakeUpstream

from lockgate.audit.remote import ProcessAuditSink
from lockgate.audit.tables import audit_log
from lockgate.audit.testing import pg_test_url
from lockgate.audit.writer import AuditSink

#: requests per run: 10,000 take ~35 s on SQLite; PostgreSQL runs 2,000 so that both stay inside a
#: minute on two shared cores (10,000 pass there too, in ~47 s)
VOLUME = {"sqlite": 10_000, "postgresql": 2_000}
EXPECTED_STATUS = {"stream": 200, "plain": 200, "email": 200, "unknown": 404, "fail500": 502}
CONTENT_ENV = "LOCKGATE_TEST_CONTENT_KEY"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and pg_test_url() is None:
        pytest.skip(PG_SKIP)
    return str(request.param)


@pytest.fixture
def store_url(store_kind: str, tmp_path: Path) -> Iterator[str]:
    with STORES[store_kind](tmp_path / "state") as url:
        yield url


USAGE_FIELDS = ("requests", "prompt_tokens", "completion_tokens", "errors")


def _tally(items: Iterator[tuple[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = {}
    for group, counts in items:
        out.setdefault(group, Counter()).update(counts)
    return {group: {k: c[k] for k in USAGE_FIELDS} for group, c in out.items()}


def client_usage(sent: list[Sent]) -> dict[str, dict[str, int]]:
    """model -> requests, prompt and completion tokens, errors: what the clients were told."""
    return _tally(
        (s.call.model, {"requests": 1, "prompt_tokens": s.prompt_tokens,
                        "completion_tokens": s.completion_tokens, "errors": int(s.status != 200)})
        for s in sent
    )  # fmt: skip


def upstream_tokens(up: FakeUpstream) -> tuple[int, int]:
    """(prompt, completion) tokens the scripted upstream reported over every answered request:
    11 + 7 for a plain answer, 11 + one per word of the reply for a streamed one."""
    prompt = completion = 0
    for body in up.requests:
        if body.get("model") != "ok":
            continue
        prompt += 11
        completion += len(up.text(body).split(" ")) if body.get("stream") else 7
    return prompt, completion


def cli_usage(config: Path) -> dict[str, dict[str, int]]:
    """``lockgate usage --by model --period day --json``, summed over days, per model."""
    result = lockgate("usage", "-c", str(config), "--by", "model", "--period", "day", "--json")
    assert result.exit_code == 0, result.output
    return _tally((row["group"], {k: row[k] for k in USAGE_FIELDS}) for row in json.loads(result.stdout))


def by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["request_id"]: r for r in rows}


def check_answered(row: dict[str, Any], sent: Sent, key_id: str) -> None:
    """A request the upstream answered: who, what, where, under which policy, how it went."""
    assert row["key_id"] == key_id and row["team"] == "finance"
    assert (row["model_alias"], row["deployment"], row["provider"]) == ("ok", "eu/ok", "eu")
    assert row["jurisdiction"] == sent.headers["x-lockgate-jurisdiction"] and row["jurisdiction"]
    assert row["policy"] == "eu-only" == sent.headers["x-lockgate-policy"]
    assert row["route_reason"] and row["attempts"] == 1
    assert (row["status"], bool(row["stream"])) == (200, sent.call.stream)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (sent.prompt_tokens, sent.completion_tokens)
    assert row["cost"] > 0 and row["currency"] == "EUR"
    assert row["purpose"] == sent.call.purpose
    assert row["request_sha256"] == hashlib.sha256(sent.request_body).hexdigest()
    assert row["response_sha256"] == hashlib.sha256(sent.response_body).hexdigest()
    assert row["request_body"] is None and row["response_body"] is None  # content logging is off


def check_records(rows: list[dict[str, Any]], sent: list[Sent], key_id: str) -> None:
    rows_by_id = by_id(rows)
    for s in sent:
        row = rows_by_id[s.request_id]
        assert row["instance"] and row["endpoint"] == "chat.completions"
        assert row["finished_at"] >= row["started_at"] and row["latency_ms"] > 0
        assert json.loads(row["pii_findings"]) == ({"email": 1} if s.call.kind == "email" else {})
        if s.status == 200:
            check_answered(row, s, key_id)
    unknown = [rows_by_id[s.request_id] for s in sent if s.call.kind == "unknown"]
    assert {(r["status"], r["model_alias"], r["provider"]) for r in unknown} == {(404, UNKNOWN_MODEL, None)}
    failed = [rows_by_id[s.request_id] for s in sent if s.call.kind == "fail500"]
    assert {(r["status"], r["error_type"], r["model_alias"]) for r in failed} == {
        (502, "upstream_error", "fail500")
    }


async def test_ten_thousand_requests_leave_provable_records(
    store_kind: str, store_url: str, tmp_path: Path, upstream: FakeUpstream
) -> None:
    n, state = VOLUME[store_kind], tmp_path / "state"
    key_id, secret = make_key(store_url, "billing-bot", team="finance")
    cfg = gateway_config(upstream, state, store_url, audit={"flush_interval": 0.2})
    config = write_config(cfg, tmp_path / "lockgate.yaml")
    t0 = time.monotonic()
    async with running_gateway(cfg, tmp_path) as (base, _gw):
        sent = await drive(base, secret, n, concurrency=32)
    seconds = time.monotonic() - t0  # closing the gateway flushed the audit queue
    rows = audit_rows(store_url)
    print(f"\n{store_kind}: {n} requests in {seconds:.1f} s, {len(rows)} audit rows")

    assert {(s.call.kind, s.status) for s in sent} == set(EXPECTED_STATUS.items())
    assert len({s.request_id for s in sent}) == n and all(s.request_id.startswith("req_") for s in sent)
    assert len(rows) == n and set(by_id(rows)) == {s.request_id for s in sent}
    assert [r["seq"] for r in rows] == list(range(1, n + 1))

    verified = lockgate("audit", "verify", "-c", str(config))
    assert verified.exit_code == 0, verified.output
    assert f"{n} records" in verified.stdout and "intact" in verified.stdout

    # usage matches what the clients were told, and that is what the upstream reported
    assert cli_usage(config) == client_usage(sent)
    ok = client_usage(sent)["ok"]
    assert (ok["prompt_tokens"], ok["completion_tokens"]) == upstream_tokens(upstream)

    check_records(rows, sent, key_id)
    leaked = stored_bytes(state, rows)
    assert EMAIL.encode() not in leaked and secret.encode() not in leaked

    # one edited field in one row: verify fails and names exactly that record
    target = rows[n // 2]
    execute(
        store_url,
        update(audit_log)
        .where(audit_log.c.seq == target["seq"])
        .values(completion_tokens=audit_log.c.completion_tokens + 1),
    )
    tampered = lockgate("audit", "verify", "-c", str(config), "--json")
    assert tampered.exit_code == 1
    first = json.loads(tampered.stdout)["chains"][0]["first_problem"]
    assert (first["kind"], first["seq"], first["request_id"]) == (
        "altered",
        target["seq"],
        target["request_id"],
    )
    plain = lockgate("audit", "verify", "-c", str(config))
    assert plain.exit_code == 1 and f"seq {target['seq']} (request {target['request_id']})" in plain.stdout


def content_config(
    up: FakeUpstream, tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    monkeypatch.setenv(CONTENT_ENV, "operator-held content key 7f3a")
    audit = {"log_content": True, "content_key": "${" + CONTENT_ENV + "}", "flush_interval": 0.1}
    return gateway_config(up, tmp_path / "state", url, audit=audit)


async def send_secret_prompts(cfg: dict[str, Any], tmp_path: Path, secret: str) -> list[Sent]:
    async with running_gateway(cfg, tmp_path) as (base, _gw):
        return await drive(base, secret, 50, concurrency=8)


def export(config: Path) -> dict[str, dict[str, Any]]:
    got = lockgate(
        "audit", "export", "-c", str(config), "--from", "2000-01-01", "--to", "2100-01-01", "--with-content"
    )
    assert got.exit_code == 0, got.output
    return {r["request_id"]: r for r in map(json.loads, got.stdout.splitlines())}


async def test_content_logging_keeps_plaintext_out_of_the_store(
    store_url: str, tmp_path: Path, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, secret = make_key(store_url, "billing-bot", team="finance")
    cfg = content_config(upstream, tmp_path, store_url, monkeypatch)
    config = write_config(cfg, tmp_path / "lockgate.yaml")
    sent = await send_secret_prompts(cfg, tmp_path, secret)
    rows = audit_rows(store_url)
    assert len(rows) == len(sent) == 50
    leaked = stored_bytes(tmp_path / "state", rows)
    prompts = [s.call.text for s in sent if s.call.kind in ("plain", "email", "stream")]
    assert prompts and not [p for p in prompts if p.encode() in leaked]
    assert lockgate("audit", "verify", "-c", str(config)).exit_code == 0
    assert set(export(config)) == {s.request_id for s in sent}
    # without the key in the config, bodies cannot be decrypted and export says which field to set
    monkeypatch.delenv(CONTENT_ENV)
    no_key = write_config({**cfg, "audit": {"flush_interval": 0.1}}, tmp_path / "nokey.yaml")
    refused = lockgate(
        "audit", "export", "-c", str(no_key), "--from", "2000-01-01", "--to", "2100-01-01", "--with-content"
    )
    assert refused.exit_code != 0 and "audit.content_key" in refused.output


async def test_content_logging_round_trips_encrypted_bodies(
    store_url: str, tmp_path: Path, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, secret = make_key(store_url, "billing-bot", team="finance")
    cfg = content_config(upstream, tmp_path, store_url, monkeypatch)
    config = write_config(cfg, tmp_path / "lockgate.yaml")
    sent = await send_secret_prompts(cfg, tmp_path, secret)
    rows = by_id(audit_rows(store_url))
    exported = export(config)
    for s in sent:
        stored, out = rows[s.request_id], exported[s.request_id]
        assert stored["request_body"] is not None and s.call.text.encode() not in bytes(
            stored["request_body"]
        )
        assert base64.b64decode(out["request_body"]) == s.request_body
        assert hashlib.sha256(base64.b64decode(out["request_body"])).hexdigest() == out["request_sha256"]
        if s.status == 200:
            assert base64.b64decode(out["response_body"]) == s.response_body


async def test_a_failed_upstream_call_still_records_where_the_body_went(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    url = f"sqlite:///{tmp_path / 'state' / 'lockgate.db'}"
    _, secret = make_key(url, "billing-bot", team="finance")
    cfg = gateway_config(upstream, tmp_path / "state", url)
    async with running_gateway(cfg, tmp_path) as (base, _gw):
        sent = await drive(base, secret, 50, concurrency=4)
    failed = next(s for s in sent if s.call.kind == "fail500")
    assert failed.status == 502 and any(b["model"] == "fail500" for b in upstream.requests)
    row = by_id(audit_rows(url))[failed.request_id]
    assert (row["provider"], row["deployment"], row["attempts"]) == ("eu", "eu/fail500", 1)
    assert row["jurisdiction"] and row["route_reason"]


@pytest.mark.parametrize("writer", ["process", "thread"])
async def test_audit_stays_off_the_request_path_while_the_store_is_gone(
    store_kind: str, tmp_path: Path, upstream: FakeUpstream, writer: str
) -> None:
    """PostgreSQL sits behind a TCP gate that refuses and cuts every connection (the server is
    gone, without disturbing the shared one); SQLite is held by another writer (a stalled store).
    Requests are served meanwhile, and every record reaches the chain once the store is back."""
    with OUTAGES[store_kind](tmp_path / "state") as (url, outage):
        key_id, secret = make_key(url, "billing-bot", team="finance")
        audit = {"flush_interval": 0.1, "retry_initial": 0.05, "retry_max": 0.2, "writer": writer}
        cfg = gateway_config(upstream, tmp_path / "state", url, audit=audit)
        async with running_gateway(cfg, tmp_path) as (base, gw):
            sink: Any = sink_of(gw.sinks, AuditSink if writer == "thread" else ProcessAuditSink)
            before = await drive(base, secret, 100, concurrency=8)
            await wait_for(lambda: sink.depth == 0 and sink.written == 100)
            outage.down()
            during = await drive(base, secret, 300, concurrency=16)
            await wait_for(lambda: sink.errors >= outage.failures and sink.depth == 300)
            assert (sink.depth, sink.written, sink.dropped) == (300, 100, 0)
            assert await queue_depth_metric(base) >= 300
            outage.up()
            after = await drive(base, secret, 100, concurrency=8)
        rows = audit_rows(url)
        config = write_config(cfg, tmp_path / "lockgate.yaml")
        verified = lockgate("audit", "verify", "-c", str(config))
    assert verified.exit_code == 0, verified.output
    sent = before + during + after
    # every request was served, as it would have been, while the store was gone
    assert all(s.status == EXPECTED_STATUS[s.call.kind] for s in sent)
    assert len(rows) == 500 and set(by_id(rows)) == {s.request_id for s in sent}
    assert {r["request_id"] for r in rows[100:400]} == {s.request_id for s in during}
    check_records(rows, sent, key_id)


async def queue_depth_metric(base: str) -> float:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/metrics") as resp:
        text = await resp.text()
    family = next(f for f in text_string_to_metric_families(text) if f.name == "lockgate_audit_queue_depth")
    return float(family.samples[0].value)


async def wait_for(condition: Any, rounds: int = 600) -> None:
    """Let background tasks run until ``condition()`` holds (bounded, not a timing assertion)."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")
