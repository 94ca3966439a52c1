"""API keys: created once, stored as hashes, enforced from memory; admin vs client keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from tests.support.gateway import remote, running_gateway
from tests.support.upstream import FakeUpstream

from lockgate.auth.keys import create_key, load_principals
from lockgate.cli import cli
from lockgate.config.loader import parse_config
from lockgate.errors import ConfigError
from lockgate.server.gateway import Gateway
from lockgate.storage.db import open_store
from lockgate.storage.tables import api_keys


def _cfg(up: FakeUpstream, **extra: Any) -> dict[str, Any]:
    return {
        "providers": {"up": remote(up.url)},
        "models": {"ok": {"deployments": [{"provider": "up", "model": "ok"}]},
                   "other": {"deployments": [{"provider": "up", "model": "ok"}]}},
        **extra,
    }  # fmt: skip


async def _status(base: str, key: str | None, model: str = "ok") -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with aiohttp.ClientSession() as http, http.post(
        base + "/v1/chat/completions", headers=headers,
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
    ) as r:  # fmt: skip
        return r.status, await r.json()


async def test_keys_required_once_one_exists(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with running_gateway(_cfg(upstream), tmp_path) as (base, gw):
        assert (await _status(base, None))[0] == 200  # keyless on loopback while no key exists
        assert gw.store is not None
        _, secret = create_key(gw.store, "client", models=["ok"])
        gw.auth.replace(load_principals(gw.store))
        status, body = await _status(base, None)
        assert status == 401 and body["error"]["type"] == "authentication_error"
        assert "keys create" in body["error"]["message"]
        assert (await _status(base, "lg-wrong-key"))[0] == 401
        assert (await _status(base, secret))[0] == 200
        status, body = await _status(base, secret, model="other")
        assert status == 403 and body["error"]["code"] == "model_not_allowed"
        client = openai.AsyncOpenAI(base_url=base + "/v1", api_key=secret, max_retries=0)
        assert [m.id for m in (await client.models.list()).data] == ["ok"]
        with pytest.raises(openai.AuthenticationError):
            await openai.AsyncOpenAI(base_url=base + "/v1", api_key="bad", max_retries=0).models.list()


async def test_secret_stored_only_as_hash(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/k.db")
    key_id, secret = create_key(store, "x")
    with store.connect() as conn:
        row = conn.execute(select(api_keys)).one()._mapping
    assert secret not in str(dict(row))
    assert row["id"] == key_id and row["prefix"] == secret[:11]


async def test_admin_api_create_and_revoke(
    upstream: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_ADMIN_KEY", "admin-secret-abcdef")
    cfg = _cfg(upstream, auth={"mode": "keys", "admin_key": "${TEST_ADMIN_KEY}"})
    async with running_gateway(cfg, tmp_path) as (base, _), aiohttp.ClientSession() as http:
        admin = {"Authorization": "Bearer admin-secret-abcdef"}
        async with http.post(base + "/admin/keys", json={"name": "bot"}, headers=admin) as r:
            assert r.status == 201
            created = await r.json()
        user = {"Authorization": f"Bearer {created['key']}"}
        assert (await _status(base, created["key"]))[0] == 200
        async with http.get(base + "/admin/keys", headers=user) as r:
            assert r.status == 403  # client keys cannot use the admin API
        async with http.get(base + "/admin/keys", headers=admin) as r:
            listed = await r.json()
            assert [k["name"] for k in listed["data"]] == ["bot"]
            assert "secret_hash" not in listed["data"][0]
        async with http.post(base + "/admin/keys", json={}, headers=admin) as r:
            assert r.status == 400 and (await r.json())["error"]["param"] == "name"
        async with http.delete(base + f"/admin/keys/{created['id']}", headers=admin) as r:
            assert r.status == 200
        assert (await _status(base, created["key"]))[0] == 401


def test_keyless_refuses_non_loopback_binding(tmp_path: Path) -> None:
    cfg = parse_config({"data_dir": str(tmp_path), "providers": {"p": remote("http://127.0.0.1:9/v1")}})
    store = open_store(cfg.storage_url())
    with pytest.raises(ConfigError, match=r"refusing to listen on 0\.0\.0\.0 without API keys"):
        Gateway(cfg, store, "0.0.0.0", 8080).check_binding()
    Gateway(cfg, store, "127.0.0.1", 8080).check_binding()  # loopback is allowed
    create_key(store, "k")
    Gateway(cfg, store, "0.0.0.0", 8080).check_binding()  # with a key, any address


def test_keys_cli_create_list_revoke(tmp_path: Path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text(f"data_dir: {tmp_path}\nproviders:\n  p: {{kind: openai, base_url: 'http://x'}}\n"
                    "models:\n  m: {deployments: [{provider: p, model: x}]}\n")  # fmt: skip
    runner = CliRunner()
    made = runner.invoke(
        cli, ["keys", "create", "alice", "--team", "research", "--models", "m", "-c", str(conf)]
    )
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("lg-")
    listed = runner.invoke(cli, ["keys", "list", "--json", "-c", str(conf)])
    assert "alice" in listed.output and secret not in listed.output
    key_id = secret.split("-")[1]
    assert runner.invoke(cli, ["keys", "revoke", key_id, "-c", str(conf)]).exit_code == 0
    again = runner.invoke(cli, ["keys", "revoke", key_id, "-c", str(conf)])
    assert again.exit_code == 1 and "no active key" in again.output
    bad = runner.invoke(cli, ["keys", "create", "bob", "--models", "ghost", "-c", str(conf)])
    assert bad.exit_code == 2 and "ghost" in bad.output
    badp = runner.invoke(cli, ["keys", "create", "bob", "--policy", "nowhere", "-c", str(conf)])
    assert badp.exit_code == 2 and "unknown policy" in badp.output
