"""``adapter`` and ``adapter_scale`` on a deployment: accepted on a local llama.cpp engine,
refused elsewhere or out of range with an error naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lockgate.config.loader import parse_config
from lockgate.config.schema import GatewayConfig
from lockgate.errors import ConfigError

PROVIDERS: dict[str, Any] = {
    "local": {"kind": "llamacpp", "engine": {"model": "bundled:smollm2"}},
    "remote": {"kind": "openai", "base_url": "https://api.example.test/v1"},
}


def _config(**deployment: Any) -> GatewayConfig:
    models = {
        "smollm2": {"deployments": [{"provider": "local", "model": "smollm2"}]},
        "support-bot": {"deployments": [{"provider": "local", "model": "smollm2", **deployment}]},
    }
    return parse_config({"providers": PROVIDERS, "models": models}, "lockgate.yaml")


def test_an_adapter_on_a_local_engine_is_accepted_with_its_scale() -> None:
    cfg = _config(adapter="support.gguf", adapter_scale=0.5)
    dep = cfg.models["support-bot"].deployments[0]
    assert (dep.adapter, dep.adapter_scale) == ("support.gguf", 0.5)
    base = cfg.models["smollm2"].deployments[0]
    assert (base.adapter, base.adapter_scale) == (None, 1.0)


def test_a_home_relative_adapter_is_expanded() -> None:
    dep = _config(adapter="~/adapters/support.gguf").models["support-bot"].deployments[0]
    assert dep.adapter == str(Path.home() / "adapters" / "support.gguf")


def test_an_adapter_on_a_remote_provider_names_the_field() -> None:
    models = {
        "support-bot": {"deployments": [{"provider": "remote", "model": "gpt", "adapter": "support.gguf"}]}
    }
    with pytest.raises(ConfigError) as err:
        parse_config({"providers": PROVIDERS, "models": models}, "lockgate.yaml")
    message = str(err.value)
    assert "models.support-bot.deployments.0.adapter: provider 'remote' is kind 'openai'" in message
    assert "only by a local engine (kind: llamacpp)" in message


@pytest.mark.parametrize("scale", [0, -1.0, 4.5])
def test_an_adapter_scale_out_of_range_names_the_field(scale: float) -> None:
    with pytest.raises(
        ConfigError, match=r"models\.support-bot\.deployments\.0\.adapter_scale: Input should be"
    ):
        _config(adapter="support.gguf", adapter_scale=scale)


def test_an_adapter_scale_without_an_adapter_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"deployments\.0: adapter_scale: set without an adapter"):
        _config(adapter_scale=2.0)


@pytest.mark.parametrize(("value", "expected"), [("", "at least 1 character"), (3, "valid string")])
def test_an_empty_or_non_text_adapter_names_the_field(value: Any, expected: str) -> None:
    with pytest.raises(ConfigError, match=rf"models\.support-bot\.deployments\.0\.adapter: .*{expected}"):
        _config(adapter=value)
