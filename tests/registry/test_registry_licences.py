from __future__ import annotations

import pytest

from lockgate.registry.checkpoints import CHECKPOINTS, find_checkpoint, licence_for_tag, match_checkpoint
from lockgate.registry.config import OperatorConfig
from lockgate.registry.licence_terms import Licence
from lockgate.registry.licences import evaluate, licence_by_id, resolve_licence

EU = OperatorConfig(domicile="DE")
US = OperatorConfig(domicile="US")


@pytest.mark.parametrize(
    ("names", "expected", "spdx"),
    [
        (["Llama-3.2-11B-Vision-Instruct"], "llama-3.2-vision", "LicenseRef-Llama-3.2-Community"),
        (["Llama 3.2 90B Vision"], "llama-3.2-vision", "LicenseRef-Llama-3.2-Community"),
        (["Llama-3.2-3B-Instruct"], "llama-3.2", "LicenseRef-Llama-3.2-Community"),
        (["Meta-Llama-3-8B-Instruct"], "llama-3", "LicenseRef-Llama-3-Community"),
        (["Meta Llama 3.1 8B Instruct"], "llama-3.1", "LicenseRef-Llama-3.1-Community"),
        (["Llama-3.3-70B-Instruct"], "llama-3.3", "LicenseRef-Llama-3.3-Community"),
        (["Llama-4-Scout-17B-16E-Instruct"], "llama-4", "LicenseRef-Llama-4-Community"),
        (["Qwen2.5-3B-Instruct"], "qwen2.5-3b", "LicenseRef-Qwen-Research"),
        (["Qwen2.5", "32B"], "qwen2.5", "Apache-2.0"),
        (["Qwen2.5 72B Instruct"], "qwen2.5-72b", "LicenseRef-Qwen"),
        (["Qwen2.5-7B-Instruct"], "qwen2.5", "Apache-2.0"),
        (["Qwen2-72B-Instruct"], "qwen2-72b", "LicenseRef-Tongyi-Qianwen"),
        (["Qwen3-30B-A3B"], "qwen3", "Apache-2.0"),
        (["Qwen-7B-Chat"], "qwen", "LicenseRef-Tongyi-Qianwen"),
        (["DeepSeek-V3"], "deepseek-v3", "LicenseRef-DeepSeek-1.0"),
        (["DeepSeek-V3-0324"], "deepseek-v3-0324", "MIT"),
        (["DeepSeek V3.1"], "deepseek-v3-0324", "MIT"),
        (["DeepSeek-R1"], "deepseek-r1", "MIT"),
        (["DeepSeek-R1-Distill-Llama-8B"], "deepseek-r1-distill-llama-8b", "LicenseRef-Llama-3.1-Community"),
        (
            ["DeepSeek-R1-Distill-Llama-70B"],
            "deepseek-r1-distill-llama-70b",
            "LicenseRef-Llama-3.3-Community",
        ),
        (["DeepSeek-R1-Distill-Qwen-7B"], "deepseek-r1-distill-qwen", "Apache-2.0"),
        (["gemma-2-9b-it"], "gemma", "LicenseRef-Gemma-ToU"),
        (["Gemma 4 27B"], "gemma-4", "Apache-2.0"),
        (["Mistral-7B-Instruct-v0.3"], "mistral-apache", "Apache-2.0"),
        (["Mistral-Large-Instruct-2411"], "mistral-mrl", "LicenseRef-Mistral-Research"),
        (["Ministral-8B-Instruct-2410"], "mistral-mrl", "LicenseRef-Mistral-Research"),
        (["Codestral-22B-v0.1"], "codestral-22b", "LicenseRef-Mistral-Non-Production"),
        (["Smollm2 135M 8k Lc100K Mix1 Ep2", "smollm2", "135M"], "smollm2", "Apache-2.0"),
        (["SmolLM3-3B"], "smollm3", "Apache-2.0"),
        (["Kimi-K2-Instruct"], "kimi-k2", "LicenseRef-Kimi-Modified-MIT"),
        (["GLM-4.6"], "glm-4.5+", "MIT"),
        (["glm-4-9b-chat"], "glm-4", "LicenseRef-GLM-4"),
    ],
)
def test_checkpoint_matching(names: list[str], expected: str, spdx: str) -> None:
    cp = match_checkpoint(names)
    assert cp is not None and cp.key == expected
    assert cp.licence.spdx == spdx


def test_own_name_wins_over_base_model_and_base_model_is_the_fallback() -> None:
    cp = match_checkpoint(["my-finetune"], ["meta-llama/Llama-3.2-11B-Vision-Instruct"])
    assert cp is not None and cp.key == "llama-3.2-vision"
    cp = match_checkpoint(["SmolLM2-135M-tuned"], ["Llama 3.3 70B"])
    assert cp is not None and cp.key == "smollm2"
    assert match_checkpoint(["totally-unknown"]) is None


def test_explicit_checkpoint_by_key_or_repo() -> None:
    assert find_checkpoint("meta-llama/llama-3.2-11b-vision-instruct") is find_checkpoint("llama-3.2-vision")
    assert find_checkpoint("nope") is None
    assert len({cp.key for cp in CHECKPOINTS}) == len(CHECKPOINTS)


def test_lookup_by_licence_id_and_tag() -> None:
    assert licence_by_id("apache-2.0") is not None
    assert licence_for_tag("llama3.2") is None  # ambiguous between text and Vision: no guess
    lic, cp = resolve_licence("llama-3.2-vision", "Apache-2.0")
    assert cp is not None and lic is not None and lic.eu_domicile_exclusion
    assert resolve_licence(None, "LicenseRef-Nobody") == (None, None)


def _rules(lic: Licence, op: OperatorConfig) -> dict[str, bool]:
    return {f.rule: f.blocking for f in evaluate(lic, op)}


def _licence(key: str) -> Licence:
    cp = find_checkpoint(key)
    assert cp is not None
    return cp.licence


@pytest.mark.parametrize("key", ["llama-3.2-vision", "llama-4"])
def test_eu_exclusion_blocks_eu_operators_only(key: str) -> None:
    assert _rules(_licence(key), EU)["licence.eu-domicile-exclusion"] is True
    assert "licence.eu-domicile-exclusion" not in _rules(_licence(key), US)
    assert "licence.eu-domicile-exclusion" not in _rules(_licence(key), OperatorConfig(domicile="ch"))
    assert "licence.eu-domicile-exclusion" not in _rules(_licence("llama-3.2"), EU)


def test_mau_threshold() -> None:
    lic = _licence("llama-3.1")
    assert "licence.mau-threshold" not in _rules(lic, OperatorConfig(monthly_active_users=700_000_000))
    assert _rules(lic, OperatorConfig(monthly_active_users=700_000_001))["licence.mau-threshold"] is True
    qwen72 = _licence("qwen2.5-72b")
    assert _rules(qwen72, OperatorConfig(monthly_active_users=150_000_000))["licence.mau-threshold"] is True


def test_kimi_threshold_asks_for_attribution_not_a_licence() -> None:
    big = OperatorConfig(monthly_active_users=200_000_000, annual_revenue_eur=300_000_000)
    rules = _rules(_licence("kimi-k2"), big)
    assert rules["licence.mau-attribution"] is False
    assert rules["licence.revenue-attribution"] is False
    assert not any(rules.values())
    assert "licence.mau-attribution" not in _rules(_licence("kimi-k2"), OperatorConfig())


def test_revenue_threshold_blocks_devstral_2_for_large_companies() -> None:
    lic = _licence("devstral-2")
    assert _rules(lic, OperatorConfig(annual_revenue_eur=600_000_000))["licence.revenue-threshold"] is True
    assert "licence.revenue-threshold" not in _rules(lic, OperatorConfig(annual_revenue_eur=1_000_000))


@pytest.mark.parametrize("key", ["qwen2.5-3b", "mistral-mrl", "codestral-22b", "qwen-1.8b"])
def test_non_commercial_checkpoints(key: str) -> None:
    assert _rules(_licence(key), EU)["licence.non-commercial"] is True
    assert "licence.non-commercial" not in _rules(_licence(key), OperatorConfig(commercial_use=False))


def test_duties_are_reported_without_blocking() -> None:
    rules = _rules(_licence("deepseek-v3"), EU)
    assert rules == {"licence.flow-down": False, "licence.remote-restriction": False}
    gemma = _rules(_licence("gemma"), EU)
    assert gemma["licence.flow-down"] is False
    llama3 = _rules(_licence("llama-3"), EU)
    assert llama3["licence.output-training"] is False and llama3["licence.attribution"] is False
    assert _rules(_licence("llama-3.1"), EU)["licence.name-prefix"] is False
    assert _rules(_licence("smollm2"), EU) == {}


def test_blocking_findings_come_first_and_carry_resolutions() -> None:
    findings = evaluate(_licence("llama-3.2-vision"), EU)
    assert findings[0].blocking and findings[0].rule == "licence.eu-domicile-exclusion"
    assert all(f.resolution for f in findings)
    assert "DE" in findings[0].message
