from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.registry.conftest import MakeGguf

from lockgate.registry.acks import list_acks, record_ack
from lockgate.registry.artifacts import AddOptions, add
from lockgate.registry.config import OperatorConfig
from lockgate.registry.errors import RegistryError
from lockgate.registry.gate import GateRefused, blocking_rules, check_servable

EU = OperatorConfig(domicile="DE")
US = OperatorConfig(domicile="US")
EU_RULE = "licence.eu-domicile-exclusion"


@pytest.fixture
def vision(make_gguf: MakeGguf) -> Path:
    return make_gguf("Llama-3.2-11B-Vision-Instruct", "llama3.2", arch="mllama")


def test_unregistered_path_is_refused(reg_engine: Engine, make_gguf: MakeGguf) -> None:
    path = make_gguf("SmolLM2-135M", "apache-2.0")
    with pytest.raises(GateRefused, match="not registered; run `lockgate models add") as err:
        check_servable(reg_engine, path, EU, [])
    assert err.value.check == "registered"


def test_eu_operator_cannot_serve_llama_32_vision_until_acknowledged(
    reg_engine: Engine, vision: Path
) -> None:
    art = add(reg_engine, vision)
    assert art.checkpoint == "llama-3.2-vision"
    with pytest.raises(GateRefused) as err:
        check_servable(reg_engine, vision, EU, [])
    message = str(err.value)
    assert err.value.check == "licence"
    assert EU_RULE in message and "domicile is DE" in message
    assert f"lockgate models ack {art.id} {EU_RULE} --reason" in message
    assert "providers.<name>.engine.acknowledge" in message
    assert blocking_rules(art, EU) == [EU_RULE]

    record_ack(reg_engine, art.id, EU_RULE, "end users only; reviewed by counsel", by="legal")
    result = check_servable(reg_engine, vision, EU, [])
    assert result.acknowledged == [EU_RULE]
    assert result.licence is not None and result.licence.eu_domicile_exclusion
    assert [a.by for a in list_acks(reg_engine, art.id)] == ["legal"]


def test_us_operator_can_serve_llama_32_vision(reg_engine: Engine, vision: Path) -> None:
    add(reg_engine, vision)
    result = check_servable(reg_engine, vision, US, [])
    assert result.checkpoint is not None and result.checkpoint.key == "llama-3.2-vision"
    assert {d.rule for d in result.duties} >= {"licence.attribution", "licence.name-prefix"}
    assert result.acknowledged == []


def test_config_acknowledgement_passes_and_is_recorded(reg_engine: Engine, vision: Path) -> None:
    art = add(reg_engine, vision)
    result = check_servable(reg_engine, vision, EU, [EU_RULE, "licence.unrelated"])
    assert result.acknowledged == [EU_RULE]
    acks = list_acks(reg_engine, art.id)
    assert [(a.rule, a.by) for a in acks] == [(EU_RULE, "config")]
    check_servable(reg_engine, vision, EU, [EU_RULE])
    assert len(list_acks(reg_engine, art.id)) == 1  # recorded once, not on every start


def test_mau_threshold_blocks_large_operators(reg_engine: Engine, make_gguf: MakeGguf) -> None:
    path = make_gguf("Meta-Llama-3.1-8B-Instruct", "llama3.1")
    add(reg_engine, path)
    check_servable(reg_engine, path, OperatorConfig(monthly_active_users=1_000_000), [])
    with pytest.raises(GateRefused, match=r"licence\.mau-threshold"):
        check_servable(reg_engine, path, OperatorConfig(monthly_active_users=800_000_000), [])


def test_non_commercial_checkpoint_is_refused(reg_engine: Engine, make_gguf: MakeGguf) -> None:
    path = make_gguf("Qwen2.5-3B-Instruct", "other")
    add(reg_engine, path)
    with pytest.raises(GateRefused, match=r"licence\.non-commercial"):
        check_servable(reg_engine, path, EU, [])
    check_servable(reg_engine, path, OperatorConfig(commercial_use=False), [])


def test_unknown_licence_is_refused_with_a_way_out(reg_engine: Engine, make_gguf: MakeGguf) -> None:
    path = make_gguf("house-model-v1")
    art = add(reg_engine, path)
    assert art.licence_id is None
    with pytest.raises(GateRefused, match=r"licence.unknown.*--checkpoint ID or --licence"):
        check_servable(reg_engine, path, EU, [])
    record_ack(reg_engine, art.id, "licence.unknown", "our own weights")
    check_servable(reg_engine, path, EU, [])


def test_changed_file_is_refused(reg_engine: Engine, make_gguf: MakeGguf) -> None:
    path = make_gguf("SmolLM2-135M", "apache-2.0")
    art = add(reg_engine, path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(GateRefused, match=rf"changed: {path.name}.*models remove {art.id}") as err:
        check_servable(reg_engine, path, US, [])
    assert err.value.check == "hashes"
    check_servable(reg_engine, path, US, [], verify_hashes=False)


def test_deleted_file_is_refused(reg_engine: Engine, make_gguf: MakeGguf) -> None:
    path = make_gguf("SmolLM2-135M", "apache-2.0")
    add(reg_engine, path)
    path.unlink()
    with pytest.raises(GateRefused, match=f"missing: {path.name}"):
        check_servable(reg_engine, path, US, [])


def test_blocking_scan_finding_is_refused_until_acknowledged(reg_engine: Engine, evil_pickle: Path) -> None:
    art = add(reg_engine, evil_pickle, AddOptions(licence="MIT"))
    assert art.format == "pickle" and art.scan_status == "blocking"
    rules = [f["rule"] for f in art.scan_findings() if f["blocking"]]
    assert rules, art.scan_summary
    with pytest.raises(GateRefused, match="blocking finding") as err:
        check_servable(reg_engine, evil_pickle, US, [])
    assert err.value.check == "scan" and rules[0] in str(err.value)
    for rule in set(rules):
        record_ack(reg_engine, art.id, rule, "sandboxed research box")
    check_servable(reg_engine, evil_pickle, US, [])


def test_acknowledgement_needs_a_reason(reg_engine: Engine, vision: Path) -> None:
    art = add(reg_engine, vision)
    with pytest.raises(RegistryError, match="--reason"):
        record_ack(reg_engine, art.id, EU_RULE, "  ")
