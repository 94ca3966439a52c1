"""A local engine provider's LoRA adapters: one id per (file, scale), a view per adapter
deployment that asks the engine for its adapter, files resolved and gated before any start."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from lockgate.config.loader import parse_config
from lockgate.config.schema import GatewayConfig
from lockgate.engines.adapters import ADAPTER_HEADER, AdapterSpec
from lockgate.engines.process import free_port
from lockgate.errors import ConfigError
from lockgate.providers.llamacpp import AdapterRoute, LlamaCppProvider
from lockgate.registry.errors import GateRefused
from lockgate.routing.router import build_router
from lockgate.sovereignty.facts import resolve_facts


def _config(tmp_path: Path, deployments: dict[str, list[dict[str, Any]]]) -> GatewayConfig:
    providers = {"local": {"kind": "llamacpp", "engine": {"model": "bundled:smollm2", "replicas": 1}}}
    models = {alias: {"deployments": deps} for alias, deps in deployments.items()}
    return parse_config({"data_dir": str(tmp_path / "state"), "providers": providers, "models": models})


def _files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "support.gguf", tmp_path / "b" / "support.gguf"
    first.write_bytes(b"GGUF")
    second.write_bytes(b"GGUF")
    return first, second


def _provider(cfg: GatewayConfig) -> LlamaCppProvider:
    return LlamaCppProvider("local", cfg.providers["local"], cfg)


def test_each_file_and_scale_gets_one_stable_id(tmp_path: Path) -> None:
    first, second = _files(tmp_path)
    cfg = _config(tmp_path, {
        "smollm2": [{"provider": "local", "model": "smollm2"}],
        "support-bot": [{"provider": "local", "model": "smollm2", "adapter": str(first)}],
        "support-twin": [{"provider": "local", "model": "smollm2", "adapter": str(first)}],
        "support-soft": [{"provider": "local", "model": "smollm2", "adapter": str(first), "adapter_scale": 0.5}],
        "other-support": [{"provider": "local", "model": "smollm2", "adapter": str(second)}],
    })  # fmt: skip
    provider = _provider(cfg)
    assert provider.adapters == [
        AdapterSpec("support", str(first), 1.0, "models.support-bot.deployments.0.adapter"),
        AdapterSpec("support-2", str(first), 0.5, "models.support-soft.deployments.0.adapter"),
        AdapterSpec("support-3", str(second), 1.0, "models.other-support.deployments.0.adapter"),
    ]
    assert [a.id for a in _provider(cfg).adapters] == ["support", "support-2", "support-3"]  # stable
    router = build_router(
        cfg, {"local": provider}, {"local": resolve_facts("local", cfg.providers["local"], "DE")}
    )
    routes = {alias: r.deployments[0].provider for alias, r in router.routes.items()}
    assert routes["smollm2"] is provider
    views = {alias: p for alias, p in routes.items() if alias != "smollm2"}
    assert all(isinstance(p, AdapterRoute) and p.engine is provider for p in views.values())
    assert {alias: p.adapter for alias, p in views.items() if isinstance(p, AdapterRoute)} == {
        "support-bot": "support", "support-twin": "support", "support-soft": "support-2",
        "other-support": "support-3",
    }  # fmt: skip
    # the base model and each adapter are told apart by name (metrics, audit, drills)
    names = {alias: r.deployments[0].name for alias, r in router.routes.items()}
    assert names == {
        "smollm2": "local/smollm2", "support-bot": "local/smollm2+support",
        "support-twin": "local/smollm2+support", "support-soft": "local/smollm2+support-2",
        "other-support": "local/smollm2+support-3",
    }  # fmt: skip


def test_the_engine_is_started_with_every_adapter(tmp_path: Path) -> None:
    first, _ = _files(tmp_path)
    cfg = _config(tmp_path, {"support-bot": [
        {"provider": "local", "model": "smollm2", "adapter": str(first), "adapter_scale": 2.5}]})  # fmt: skip
    provider = _provider(cfg)
    provider.model_path = tmp_path / "base.gguf"
    provider.adapter_paths = {"support": first}
    argv = provider._argv(8123)
    i = argv.index("--adapter")
    assert argv[i : i + 4] == ["--adapter", "support", "2.5", str(first)]


async def test_a_missing_adapter_file_names_the_field(tmp_path: Path) -> None:
    cfg = _config(tmp_path, {"support-bot": [
        {"provider": "local", "model": "smollm2", "adapter": str(tmp_path / "nope.gguf")}]})  # fmt: skip
    with pytest.raises(
        ConfigError, match=r"models\.support-bot\.deployments\.0\.adapter: adapter file .* does not exist"
    ):
        await _provider(cfg).start()


async def test_the_serving_gate_sees_the_base_model_and_its_adapters(tmp_path: Path) -> None:
    first, second = _files(tmp_path)
    cfg = _config(tmp_path, {
        "a": [{"provider": "local", "model": "smollm2", "adapter": str(first)}],
        "b": [{"provider": "local", "model": "smollm2", "adapter": str(second)}],
    })  # fmt: skip
    seen: list[tuple[Path, list[str], list[Path]]] = []

    def gate(model_path: Path, acknowledgements: list[str], adapters: Sequence[Path] = ()) -> None:
        seen.append((model_path, acknowledgements, list(adapters)))
        raise GateRefused("adapter refused for the test", "adapter")

    provider = _provider(cfg)
    provider.gate = gate
    with pytest.raises(GateRefused, match="adapter refused for the test"):
        await provider.start()
    assert provider.replicas == []  # refused before any engine started
    assert seen == [(provider.model_path, [], [first.resolve(), second.resolve()])]


@pytest.fixture
async def echo_engine() -> AsyncIterator[str]:
    """A stand-in engine that answers with the adapter header it received."""

    async def chat(request: web.Request) -> web.Response:
        return web.json_response({"adapter": request.headers.get(ADAPTER_HEADER)})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/v1"
    await runner.cleanup()


async def test_an_adapter_deployment_asks_the_engine_for_its_adapter(
    tmp_path: Path, echo_engine: str
) -> None:
    first, _ = _files(tmp_path)
    cfg = _config(tmp_path, {
        "smollm2": [{"provider": "local", "model": "smollm2"}],
        "support-bot": [{"provider": "local", "model": "smollm2", "adapter": str(first)}],
    })  # fmt: skip
    provider = _provider(cfg)
    provider.attached = [echo_engine]
    await provider.start()
    try:
        view = provider.for_deployment(cfg.models["support-bot"].deployments[0])
        assert provider.for_deployment(cfg.models["smollm2"].deployments[0]) is provider
        assert view.is_ready() and view.describe()["adapter"] == "support"
        answer = await view.send("/chat/completions", b"{}")
        assert orjson.loads(await answer.read()) == {"adapter": "support"}
        answer = await provider.send("/chat/completions", b"{}")
        assert orjson.loads(await answer.read()) == {"adapter": None}
    finally:
        await provider.close()
