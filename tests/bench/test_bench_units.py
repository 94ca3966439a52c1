"""Unit tests for the benchmark's pieces: wrk parsing, bodies, configs, SSE client, targets, processes."""

from __future__ import annotations

import json
import re
import socket
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from lockbench import upstream
from lockbench.engine import EngineLine, EngineRun
from lockbench.followup import FollowUp, conversation, question
from lockbench.gcstats import parse_gen2, per_10k
from lockbench.loadgen import HttpTarget, LoadResult, lua_script, parse_wrk
from lockbench.paired import Paired, Round
from lockbench.peers import FEATURE_LINES, LONG_PROMPT, Endpoint, litellm_config, lockgate_config
from lockbench.procs import BenchError, descendants, start, vm_rss_kb, wait_ready
from lockbench.profile import summarise
from lockbench.sse import StreamResult, _run, carries_text
from lockbench.suite import Line, Memory
from lockbench.targets import ratios, targets

WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:8080/v1/chat/completions
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20ms  300.00us   9.00ms   80.00%
  Latency Distribution
     50%  850.00us
     75%    1.10ms
     90%    1.50ms
     99%    2.50ms
  12345 requests in 5.01s, 4.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   2464.07
Transfer/sec:    817.00KB
"""


def test_parse_wrk_reads_counts_percentiles_and_errors() -> None:
    got = parse_wrk(WRK_OUTPUT, 32)
    assert got.requests == 12345 and got.connections == 32
    assert got.rps == pytest.approx(2464.07)
    assert got.p50_ms == pytest.approx(0.85)
    assert got.p99_ms == pytest.approx(2.5)
    assert got.duration_s == pytest.approx(5.01)
    assert got.errors == 7


def test_parse_wrk_seconds_unit_and_clean_run() -> None:
    text = WRK_OUTPUT.replace("99%    2.50ms", "99%    1.25s")
    text = text.replace("  Socket errors: connect 0, read 2, write 0, timeout 1\n", "")
    text = text.replace("  Non-2xx or 3xx responses: 4\n", "")
    got = parse_wrk(text, 1)
    assert got.p99_ms == pytest.approx(1250.0)
    assert got.errors == 0


def test_parse_wrk_rejects_output_it_cannot_read() -> None:
    with pytest.raises(BenchError, match="could not read"):
        parse_wrk("wrk: connection refused\n", 1)


def test_lua_script_survives_brackets_in_the_body() -> None:
    target = HttpTarget("http://x/", b'{"content": "a]]b]=]c"}', {"Authorization": "Bearer k"})
    script = lua_script(target)
    assert 'wrk.method = "POST"' in script
    assert "[==[" in script and "a]]b]=]c" in script
    assert "wrk.headers[ [[Authorization]] ] = [[Bearer k]]" in script


def test_stream_body_is_valid_sse_with_usage_and_done() -> None:
    body = upstream.stream_body(5)
    events = [e[len("data: ") :] for e in body.strip().split("\n\n")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert len(chunks) == 6
    assert all(carries_text(e.encode()) for e in events[:5])
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 5
    assert chunks[4]["choices"][0]["finish_reason"] == "stop"
    assert json.loads(upstream.completion_body())["usage"]["total_tokens"] == 19


def test_nginx_config_is_filled_and_refuses_unsafe_bodies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = upstream.render_config(tmp_path, 1234, 8)
    assert not re.search(r"@[A-Z_]+@", text)
    assert "listen 127.0.0.1:1234" in text and str(tmp_path / "stream.sse") in text
    monkeypatch.setattr(upstream, "completion_body", lambda: "{'$x'}")
    with pytest.raises(BenchError, match="nginx would interpret"):
        upstream.render_config(tmp_path, 1234, 8)


def test_carries_text_ignores_role_usage_and_garbage() -> None:
    assert carries_text(b'{"choices":[{"delta":{"content":"x"}}]}')
    assert not carries_text(b'{"choices":[{"delta":{"role":"assistant"}}]}')
    assert not carries_text(b'{"choices":[],"usage":{}}')
    assert not carries_text(b"not json")
    assert not carries_text(b"[1, 2]")


def test_lockgate_configs_validate_with_lockgates_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lockgate.config.loader import parse_config

    monkeypatch.setenv("BENCH_KEY", "sk-bench-test")
    routes = {"bench": ("http://127.0.0.1:9/v1", "bench-model")}
    for features in FEATURE_LINES:
        cfg = parse_config(lockgate_config(features, 8080, tmp_path, routes))
        assert cfg.pii.enabled is features.pii and cfg.audit.enabled is features.audit
        assert (cfg.policies.default == "eu-sovereign") is features.policy
        assert cfg.auth.mode == "keys" and cfg.auth.admin_key is not None
        assert list(cfg.models) == ["bench"]


def test_litellm_config_uses_env_indirection_and_no_db() -> None:
    cfg = litellm_config({"bench": ("http://127.0.0.1:9/v1", "bench-model")})
    assert cfg["general_settings"]["master_key"] == "os.environ/BENCH_KEY"
    assert "database_url" not in cfg["general_settings"]
    assert cfg["model_list"][0]["litellm_params"]["model"] == "openai/bench-model"


def test_long_prompt_is_two_kilobytes_of_plain_text() -> None:
    assert len(LONG_PROMPT.encode()) == 2048
    assert not any(ch.isdigit() or ch == "@" for ch in LONG_PROMPT)


def test_summarise_profile_ranks_own_and_inclusive_time() -> None:
    collapsed = (
        "main (a.py:1);handle (b.py:2);parse (c.py:3) 30\nmain (a.py:1);handle (b.py:2) 10\nbad line\n"
    )
    text = summarise(collapsed)
    assert "py-spy samples: 40" in text
    own = text.split("Top 25 by inclusive time:")[0]
    assert own.index("parse (c.py:3)") < own.index("handle (b.py:2)")
    assert "100.0%  main (a.py:1)" in text


def _load(rps: float, p50: float = 1.0, p99: float = 2.0) -> LoadResult:
    return LoadResult(1, 100, 1.0, rps, p50, p99, 0)


def _line(label: str, c1: LoadResult, c32: LoadResult, memory: Memory | None = None) -> Line:
    peer = label.split("[")[0]
    return Line(peer, label, "-", "short", c1, c32, memory=memory)


def _stream(chunks_per_s: float, ttfc: float) -> StreamResult:
    return StreamResult(4, 1, 0, 100, 1.0, chunks_per_s, ttfc, ttfc, ttfc)


def test_ratios_and_targets_from_measured_lines() -> None:
    lines = [
        _line("direct", _load(10_000, 0.1, 0.5), _load(20_000)),
        _line("aiohttp", _load(2_000), _load(4_000)),
        _line("litellm", _load(40), _load(50)),
        _line(
            "lockgate[auth]",
            _load(1_500, 0.3, 1.0),
            _load(3_000),
            Memory(100_000, 100_000, 105_000, 100_000, own_after_kb=105_000),
        ),
        _line(
            "lockgate[auth+policy+audit]",
            _load(1_000),
            _load(2_000),
            Memory(110_000, 110_000, 130_000, 10, own_after_kb=125_000),
        ),
    ]
    table = ratios(lines)
    assert "direct short" not in table
    assert table["lockgate[auth] short"]["c32_rps_vs_aiohttp"] == pytest.approx(0.75)
    assert table["lockgate[auth] short"]["c1_added_p50_ms"] == pytest.approx(0.2)
    engine = EngineRun(
        [EngineLine("direct", 1, _stream(100.0, 50.0)), EngineLine("lockgate", 1, _stream(98.0, 53.0))], []
    )
    found = {t.name: t for t in targets(lines, engine)}
    assert found["c=32 req/s, auth+policy+audit, ÷ LiteLLM"].met is True
    assert found["c=32 req/s, auth+policy+audit, ÷ aiohttp pass-through"].met is False
    assert found["c=1 added p50 over direct (auth)"].met is True
    assert found["c=1 added p99 over direct (auth)"].value == pytest.approx(0.5)
    assert found["lockgate serving process resident memory, largest line"].met is False
    assert found["lockgate memory growth after 100,000 requests"].value == pytest.approx(5.0)
    assert found["engine c=1: tokens/s lockgate ÷ direct"].met is True
    assert found["engine c=1: time to first token added"].value == pytest.approx(3.0)


def test_tail_targets_compare_the_full_line_with_the_pass_through_on_its_prompt() -> None:
    lines = [
        _line("aiohttp", _load(2_000), _load(4_000, p99=20.0)),
        Line("aiohttp", "aiohttp", "-", "2kb", _load(1_800), _load(3_000, p99=30.0)),
        Line("lockgate", "lockgate[auth]", "auth", "short", _load(1), _load(3_500, p99=22.0), gen2=1),
        Line("lockgate", "lockgate[all]", "all", "2kb", _load(1_000), _load(2_400, p99=36.0), gen2=0),
    ]
    table = ratios(lines)
    assert table["lockgate[all] 2kb"]["c32_p99_vs_aiohttp"] == pytest.approx(1.2)
    assert table["lockgate[all] 2kb"]["c32_rps_vs_aiohttp"] == pytest.approx(0.8)
    assert table["lockgate[auth] short"]["c32_p99_vs_aiohttp"] == pytest.approx(1.1)
    found = {t.name: t for t in targets(lines, None)}
    assert found["c=32 p99, all, ÷ aiohttp pass-through p99"].met is True
    assert found["c=32 req/s, all, ÷ aiohttp pass-through"].met is True
    worst = found["gen-2 collections in a c=32 run, worst lockgate line"]
    assert worst.value == 1 and worst.met is False
    assert lines[2].to_json()["c32_gen2_per_10k"] == pytest.approx(100.0)  # 1 in 100 requests


def test_alternating_rounds_give_the_tail_targets_their_medians() -> None:
    """The single runs (all at 0.6x, p99 1.5x) are overruled by the median of the rounds."""
    lines = [
        Line("aiohttp", "aiohttp", "-", "2kb", _load(1_800), _load(4_000, p99=20.0)),
        Line("lockgate", "lockgate[all]", "all", "2kb", _load(1_000), _load(2_400, p99=30.0), gen2=0),
    ]
    paired = Paired("aiohttp", "lockgate[all]", "2kb")
    for peer, subject in [
        ((4_000, 20.0), (3_200, 22.0)),
        ((3_600, 18.0), (3_240, 27.0)),
        ((4_100, 20.0), (2_870, 30.0)),
    ]:
        paired.rounds.append(Round(_load(peer[0], p99=peer[1]), _load(subject[0], p99=subject[1])))
    assert [round(r.rps_ratio, 2) for r in paired.rounds] == [0.8, 0.9, 0.7]
    assert paired.rps_ratio == pytest.approx(0.8)
    assert paired.p99_ratio == pytest.approx(1.5)  # 1.1, 1.5, 1.5
    found = {t.name: t for t in targets(lines, None, paired)}
    rps = found["c=32 req/s, all, ÷ aiohttp pass-through, median of 3 alternating rounds"]
    p99 = found["c=32 p99, all, ÷ aiohttp pass-through p99, median of 3 alternating rounds"]
    assert (rps.value, rps.met) == (pytest.approx(0.8), True)
    assert (p99.value, p99.met) == (pytest.approx(1.5), False)
    assert paired.to_json()["median_rps_ratio"] == 0.8 and len(paired.to_json()["rounds"]) == 3
    # no rounds (a run that stopped early): the single runs decide, and say so by their names
    single = {t.name: t for t in targets(lines, None, Paired("aiohttp", "lockgate[all]", "2kb"))}
    assert single["c=32 req/s, all, ÷ aiohttp pass-through"].value == pytest.approx(0.6)


def test_a_round_against_a_peer_that_served_nothing_is_no_ratio() -> None:
    empty = Round(_load(0, p99=0.0), _load(100))
    assert empty.rps_ratio == 0.0 and empty.p99_ratio == float("inf")


def test_gen2_count_is_read_from_the_metrics_page() -> None:
    text = (
        "# TYPE python_gc_collections_total counter\n"
        'python_gc_collections_total{generation="0"} 1234.0\n'
        'python_gc_collections_total{generation="2"} 7.0\n'
    )
    assert parse_gen2(text) == 7
    assert parse_gen2("lockgate_requests_total 1\n") is None
    assert per_10k(3, 30_000) == pytest.approx(1.0)
    assert per_10k(None, 10) is None


def test_targets_without_litellm_or_engine_are_not_applicable() -> None:
    lines = [_line("direct", _load(1), _load(1)), _line("lockgate[auth+policy+audit]", _load(1), _load(1))]
    found = {t.name: t for t in targets(lines, None)}
    assert found["c=32 req/s, auth+policy+audit, ÷ LiteLLM"].met is None
    assert not any(name.startswith("engine") for name in found)


def test_processes_memory_and_early_exit(tmp_path: Path) -> None:
    service = start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], 0, tmp_path)
    try:
        settled, previous = vm_rss_kb(service.pid), -1
        for _ in range(100):  # the interpreter is still starting: wait until its memory stops moving
            if settled == previous:
                break
            previous = settled
            time.sleep(0.05)
            settled = vm_rss_kb(service.pid)
        assert settled > 0
        assert service.rss_kb() >= settled
    finally:
        service.stop()
    assert service.proc.poll() is not None
    assert vm_rss_kb(service.pid) == 0
    assert descendants(service.pid) == []
    quitter = start("quitter", [sys.executable, "-c", "print('boom'); raise SystemExit(3)"], 0, tmp_path)
    probe = urllib.request.Request("http://127.0.0.1:9/")
    with pytest.raises(BenchError, match="exited with code 3"):
        wait_ready(quitter, probe, timeout=30)
    assert "boom" in quitter.log_tail()


def test_start_reports_a_missing_program(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="cannot start"):
        start("ghost", [str(tmp_path / "no-such-binary")], 0, tmp_path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def sse_server() -> AsyncIterator[str]:
    """Serves /good (a full stream), /cut (no [DONE]) and /denied (HTTP 401)."""

    async def good(_request: web.Request) -> web.Response:
        return web.Response(body=upstream.stream_body(3).encode(), content_type="text/event-stream")

    async def cut(_request: web.Request) -> web.Response:
        body = upstream.stream_body(3).replace("data: [DONE]\n\n", "")
        return web.Response(body=body.encode(), content_type="text/event-stream")

    async def denied(_request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "no"}}, status=401)

    app = web.Application()
    app.router.add_post("/good", good)
    app.router.add_post("/cut", cut)
    app.router.add_post("/denied", denied)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_stream_client_counts_chunks_and_failures(sse_server: str) -> None:
    endpoint = Endpoint("t", sse_server, "k", sse_path="/good")
    got = await _run([endpoint.stream("hi")], 6, 3, False)
    assert (got.streams, got.errors, got.chunks) == (6, 0, 24)
    assert got.ttfc_p50_ms > 0 and got.chunks_per_s > 0
    text_only = await _run([endpoint.stream("hi")], 2, 1, True)
    assert text_only.chunks == 6
    for path in ("/cut", "/denied"):
        bad = await _run([Endpoint("t", sse_server, "k", sse_path=path).stream("hi")], 3, 2, False)
        assert (bad.streams, bad.errors, bad.chunks) == (0, 3, 0)


def test_engine_targets_cover_distinct_prompts_follow_ups_and_the_memory_bound() -> None:
    lines = [
        EngineLine("raw", 8, _stream(100.0, 0.0)),
        EngineLine("direct", 8, _stream(90.0, 900.0), rss_kb=700_000, prompts="distinct"),
        EngineLine("lockgate", 8, _stream(88.0, 950.0), prompts="distinct"),
        EngineLine("lockgate", 8, _stream(80.0, 100.0)),
        EngineLine("direct", 8, _stream(82.0, 90.0), rss_kb=600_000),
    ]
    run = EngineRun(lines, [FollowUp("lockgate", 1000.0, 200.0), FollowUp("direct", 1000.0, 300.0)],
                    model_kb=100_000, kv_kb=400_000)  # fmt: skip
    found = {t.name: t for t in targets([], run)}
    assert found["engine: TTFT p95 at 8 streams, distinct 64-token prompts"].met is False
    same = found["engine: TTFT p95 at 8 streams, same prompt"]
    assert same.value == pytest.approx(_stream(80.0, 100.0).ttfc_p95_ms) and same.met is True
    assert found["engine c=8, distinct prompts: time to first token added"].value == pytest.approx(50.0)
    assert found["engine: 8 streams through lockgate ÷ raw decode B=8"].value == pytest.approx(0.8)
    assert found["engine: follow-up turn TTFT ÷ first turn (lockgate, 1,500 tokens)"].met is True
    assert found["engine: follow-up turn TTFT ÷ first turn (direct, 1,500 tokens)"].met is False
    bound = found["engine RSS with 8 streams ÷ (weights + KV + 150 MB)"]
    assert bound.value == pytest.approx(700_000 / (500_000 + 150 * 1024))  # the larger 8-stream RSS
    assert run.memory_budget_kb == 500_000 + 150 * 1024
    assert EngineRun(lines, []).memory_budget_kb == 0  # nothing measured: no bound invented


def test_follow_up_conversation_is_long_and_unique_per_nonce() -> None:
    first, second = conversation(1), conversation(2)
    assert first != second and first[0] != second[0]
    assert sum(len(m["content"]) for m in first) > 4500  # about 1,450 tokens for SmolLM2
    assert len({question(i) for i in range(8)}) == 8
