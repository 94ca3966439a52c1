"""A gateway for console tests: EU (Mistral facts), US (OpenAI), CN (DeepSeek) and a self-hosted
stand-in on loopback, an admin key, a client key, and helpers to talk to the admin API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from lockgate.auth.keys import create_key
from lockgate.registry.acks import record_ack
from lockgate.registry.artifacts import add
from lockgate.registry.config import OperatorConfig
from lockgate.registry.gate import licence_findings
from lockgate.server.gateway import Gateway
from lockgate.storage.db import open_store
from tests.registry.conftest import write_gguf
from tests.support.gateway import remote, running_gateway
from tests.support.upstream import FakeUpstream

CATALOGUES: dict[str, str | None] = {"eu": "mistral", "us": "openai", "cn": "deepseek", "own": None}


@dataclass
class ConsoleLab:
    base: str
    gw: Gateway
    admin_key: str
    client_key: str
    eu_key: str
    ups: dict[str, FakeUpstream]

    def seen(self) -> dict[str, int]:
        return {name: len(up.requests) for name, up in self.ups.items()}

    async def chat(
        self, model: str, key: str | None = None, content: str = "hello"
    ) -> tuple[int, dict[str, Any]]:
        body = {"model": model, "messages": [{"role": "user", "content": content}]}
        headers = {"Authorization": f"Bearer {key or self.client_key}"}
        async with aiohttp.ClientSession() as s, s.post(f"{self.base}/v1/chat/completions", json=body,
                                                      headers=headers) as r:  # fmt: skip
            return r.status, {**(await r.json()), "_provider": r.headers.get("x-lockgate-provider")}

    async def admin(
        self, method: str, path: str, key: str | None = None, json: Any = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {key or self.admin_key}"}
        async with aiohttp.ClientSession() as s, s.request(method, self.base + path, json=json,
                                                         headers=headers) as r:  # fmt: skip
            ctype = r.headers.get("Content-Type", "")
            return r.status, (await r.json()) if ctype.startswith("application/json") else await r.text()


def lab_config(ups: dict[str, FakeUpstream], data_dir: Path) -> dict[str, Any]:
    providers = {}
    for name, up in ups.items():
        cat = CATALOGUES[name]
        providers[name] = remote(up.url, **({"catalogue": cat} if cat else {"facts": {"self_hosted": True}}))
    return {
        "data_dir": str(data_dir),
        "operator": {"domicile": "DE"},
        "auth": {"mode": "keys"},
        "providers": providers,
        "models": {
            "deepseek-chat": {"strategy": "ordered", "protected": True, "deployments": [
                {"provider": "cn", "model": "ok"},
                {"provider": "own", "model": "ok", "self_hosted_copy_of": "ok"}]},
            "gpt": {"strategy": "ordered", "deployments": [{"provider": "us", "model": "ok"},
                                                          {"provider": "eu", "model": "ok"}]},
            "us-only": {"deployments": [{"provider": "us", "model": "ok"}]},
        },
        "audit": {"writer": "thread", "flush_interval": 0.05, "sign_interval": 0.2},
        "limits": {"teams": {"legal": {"spend_per_day": 5.0, "spend_per_month": 50.0}},
                   "default_key": {"requests_per_minute": 1000}},
        "retry": {"attempts": 1, "backoff_initial": 0.01, "backoff_max": 0.05},
        "pii": {"enabled": True},
        "eval": {"runs_dir": str(data_dir.parent / "eval-runs")},
    }  # fmt: skip


@asynccontextmanager
async def console_lab(tmp_path: Path) -> AsyncIterator[ConsoleLab]:
    ups = {name: FakeUpstream(name) for name in CATALOGUES}
    for up in ups.values():
        await up.start()
    data_dir = tmp_path / "state"
    store = open_store(f"sqlite:///{data_dir / 'lockgate.db'}")
    _, admin_key = create_key(store, "ops-admin", admin=True)
    _, client_key = create_key(store, "app", team="legal")
    _, eu_key = create_key(store, "eu-app", policy="eu-sovereign", team="legal")
    art = add(store, write_gguf(tmp_path / "models" / "Gemma-3-4b-it.gguf", "Gemma-3-4b-it", "gemma"))
    finding = licence_findings(art, OperatorConfig(domicile="DE"))[2][0]
    record_ack(store, art.id, finding.rule, "reviewed by legal for internal use", by="dpo@example.eu")
    store.dispose()
    try:
        async with running_gateway(lab_config(ups, data_dir), tmp_path) as (base, gw):
            yield ConsoleLab(base, gw, admin_key, client_key, eu_key, ups)
    finally:
        for up in ups.values():
            await up.close()
