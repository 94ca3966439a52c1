"""The capacity-aware drill on a synthetic usage history written into the store.

deepseek-chat sends 600 generated tokens a minute to the CN provider and smollm2 200 a minute
to the local engine, which also holds deepseek-chat's self-hosted copy.  Cutting CN moves the
600 onto the local engine: 800 a minute there.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from lockgate.audit.minute_usage import minute_usage
from lockgate.audit.signing import Signer
from lockgate.audit.testing import fill_chain, sample_record
from lockgate.config.loader import parse_config
from lockgate.config.schema import GatewayConfig
from lockgate.server.views.capacity import drill_inputs
from lockgate.sovereignty.capacity import pool_capacity
from lockgate.sovereignty.drill import AliasVerdict, run_drill

START = 1_767_225_600.0  # a minute boundary
MINUTES = 30
NOW = START + MINUTES * 60 - 1


def config(local_capacity: int | None = None) -> GatewayConfig:
    local: dict[str, Any] = {"kind": "llamacpp", "engine": {"replicas": 1}}
    if local_capacity:
        local["capacity"] = {"tokens_per_minute": local_capacity}
    return parse_config({
        "providers": {"local": local, "cn": {"base_url": "http://127.0.0.1:9/v1", "catalogue": "deepseek"}},
        "models": {
            "deepseek-chat": {"protected": True, "deployments": [
                {"provider": "cn", "model": "deepseek-chat"},
                {"provider": "local", "model": "r1", "self_hosted_copy_of": "deepseek-chat"}]},
            "smollm2": {"deployments": [{"provider": "local", "model": "smollm2"}]},
        },
    })  # fmt: skip


@pytest.fixture
def history(engine: Engine, signer: Signer) -> Engine:
    records = []
    for m in range(MINUTES):
        t = START + m * 60 + 5
        records.append(sample_record(2 * m, started_at=t, model_alias="deepseek-chat", deployment="cn/deepseek-chat",
                                     provider="cn", completion_tokens=600))  # fmt: skip
        records.append(sample_record(2 * m + 1, started_at=t + 1, model_alias="smollm2", deployment="local/smollm2",
                                     provider="local", completion_tokens=200))  # fmt: skip
    records.append(sample_record(999, started_at=START - 3600, model_alias="smollm2", deployment="local/smollm2",
                                 provider="local", completion_tokens=10**6))  # outside the window  # fmt: skip
    fill_chain(engine, signer, records)
    return engine


def drill(store: Engine, cfg: GatewayConfig, figures: dict[str, Any]) -> dict[str, AliasVerdict]:
    inputs = drill_inputs(cfg, store, figures, "no gateway in this test", MINUTES * 60, now=NOW)
    report = run_drill(cfg, ["CN"], ["public-data"], inputs)
    assert report.capacity is not None and report.capacity["window_minutes"] == MINUTES
    return {v.alias: v for v in report.verdicts}


def test_minute_usage_buckets_per_minute_in_sql(history: Engine) -> None:
    rows = {(s.alias, s.deployment): s for s in minute_usage(history, *(int(START // 60), int(NOW // 60)))}
    assert set(rows) == {("deepseek-chat", "cn/deepseek-chat"), ("smollm2", "local/smollm2")}
    ds = rows[("deepseek-chat", "cn/deepseek-chat")]
    assert len(ds.completion) == MINUTES and set(ds.completion.values()) == {600.0}
    assert rows[("smollm2", "local/smollm2")].provider == "local"


def test_survivor_too_small_is_degraded_with_the_factor(history: Engine) -> None:
    verdicts = drill(history, config(), {"local": {"peak_tokens_per_minute": 500.0}})
    ds = verdicts["deepseek-chat"]
    assert ds.status == "degraded" and ds.serving == ("local/r1",)  # eligible, but cannot carry it
    cap = ds.capacity
    assert cap is not None and cap["verdict"] == "short" and cap["shortfall_factor"] == 1.6
    assert cap["moved_p95_tokens_per_minute"] == 600.0
    (local,) = cap["survivors"]
    assert local["load_before_tokens_per_minute"] == 200.0 and local["load_after_tokens_per_minute"] == 800.0
    assert local["capacity_source"] == "measured"
    # the alias that shares the engine is overloaded too, though it lost nothing
    smol = verdicts["smollm2"]
    assert smol.status == "degraded" and smol.capacity is not None and smol.capacity["verdict"] == "short"


def test_survivor_that_fits_keeps_its_status(history: Engine) -> None:
    verdicts = drill(history, config(), {"local": {"peak_tokens_per_minute": 1000.0}})
    ds = verdicts["deepseek-chat"]
    assert ds.status == "insured" and ds.capacity is not None and ds.capacity["verdict"] == "covered"
    assert ds.capacity["survivors"][0]["load_over_capacity"] == 0.8
    assert verdicts["smollm2"].status == "ok"


def test_declared_capacity_is_used_when_nothing_is_measured(history: Engine) -> None:
    verdicts = drill(history, config(local_capacity=700), {})
    ds = verdicts["deepseek-chat"]
    assert ds.status == "degraded" and ds.capacity is not None
    assert ds.capacity["survivors"][0]["capacity_source"] == "declared"
    assert ds.capacity["shortfall_factor"] == pytest.approx(800 / 700, abs=1e-3)


def test_unknown_capacity_is_unknown_never_ok(history: Engine) -> None:
    verdicts = drill(
        history, config(), {"local": {"peak_tokens_per_minute": None, "reason": "no generation yet"}}
    )
    ds = verdicts["deepseek-chat"]
    assert ds.capacity is not None and ds.capacity["verdict"] == "unknown"
    note = ds.capacity["survivors"][0]["capacity_note"]
    assert "no generation yet" in note and "capacity.tokens_per_minute" in note
    assert verdicts["smollm2"].capacity is not None and verdicts["smollm2"].capacity["verdict"] == "unknown"


def test_nothing_moves_without_a_cut(history: Engine) -> None:
    cfg = config()
    inputs = drill_inputs(
        cfg, history, {"local": {"peak_tokens_per_minute": 100.0}}, "-", MINUTES * 60, now=NOW
    )
    report = run_drill(cfg, [], ["public-data"], inputs)
    assert {v.alias: (v.status, (v.capacity or {})["verdict"]) for v in report.verdicts} == {
        "deepseek-chat": ("ok", "unaffected"), "smollm2": ("ok", "unaffected")}  # fmt: skip


def test_dark_stays_dark() -> None:
    cfg = config()
    inputs = drill_inputs(cfg, None, {}, "-", 600, now=NOW)
    report = run_drill(cfg, ["CN", "local"], ["public-data"], inputs)
    ds = next(v for v in report.verdicts if v.alias == "deepseek-chat")
    assert ds.status == "dark" and ds.capacity is not None and ds.capacity["verdict"] == "dark"
    assert report.capacity is not None and report.capacity["load_source"].startswith("no usage records")


def test_measured_beats_declared_and_lower_bound_is_noted() -> None:
    cfg = config(local_capacity=50)
    pools = pool_capacity(
        cfg, {"local": {"peak_tokens_per_minute": 900.0, "peak_is_lower_bound": True, "peak_batch_size": 1.0,
                        "slots": 4}}, "-")  # fmt: skip
    assert pools["local"].source == "measured" and pools["local"].tokens_per_minute == 900.0
    assert "lower bound" in (pools["local"].reason or "")
    assert pools["cn"].tokens_per_minute is None and pools["cn"].source is None
    assert pools["cn"].reason == "-; no capacity.tokens_per_minute declared"
