"""Shared builders for the sovereignty tests: configs from dicts, resolved facts, views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lockgate.config.loader import parse_config
from lockgate.config.schema import GatewayConfig
from lockgate.sovereignty.views import DeploymentView, resolve_all

LOCAL: dict[str, Any] = {"kind": "llamacpp", "engine": {"model": "bundled:smollm2", "replicas": 1}}


def hosted(catalogue: str | None = None, **facts: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"base_url": "http://127.0.0.1:9/v1", "api_key": "${NO_SUCH_KEY:-x}"}
    if catalogue:
        spec["catalogue"] = catalogue
    if facts:
        spec["facts"] = facts
    return spec


def make_config(
    providers: dict[str, Any], models: dict[str, Any] | None = None, **extra: Any
) -> GatewayConfig:
    if models is None:
        models = {"all": {"deployments": [{"provider": p, "model": "m"} for p in providers]}}
    return parse_config({"providers": providers, "models": models, **extra})


def views(cfg: GatewayConfig) -> list[DeploymentView]:
    facts = resolve_all(cfg)
    return [DeploymentView("all", name, "m", f) for name, f in facts.items()]


@pytest.fixture
def world() -> GatewayConfig:
    """One provider per kind of jurisdiction, plus a local engine."""
    return make_config(
        {
            "local": LOCAL,
            "scaleway": hosted("scaleway"),
            "mistral": hosted("mistral"),
            "nebius": hosted("nebius"),
            "openai": hosted("openai"),
            "openai-eu": hosted("openai-eu"),
            "deepseek": hosted("deepseek"),
            "alibaba-eu": hosted("alibaba-eu"),
            "anthropic": hosted("anthropic"),
            "bare": hosted(),
        }
    )


@pytest.fixture
def build() -> Callable[..., GatewayConfig]:
    """make_config(providers, models=None, **sections) -> GatewayConfig."""
    return make_config


@pytest.fixture
def spec() -> Callable[..., dict[str, Any]]:
    """spec(catalogue=None, **facts) -> a hosted provider entry; spec("local") -> the engine."""

    def make(catalogue: str | None = None, **facts: Any) -> dict[str, Any]:
        return dict(LOCAL) if catalogue == "local" else hosted(catalogue, **facts)

    return make


@pytest.fixture
def as_views() -> Callable[[GatewayConfig], list[DeploymentView]]:
    return views
