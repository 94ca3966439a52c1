"""`lockgate serve` as a real process: start-up refusals, secrets never logged, clean stop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from tests.conftest import start_served_gateway, stop_served_gateway
from tests.support.upstream import FakeUpstream

SECRET = "sk-upstream-do-not-leak-9f8e7d"


def _run_serve(tmp_path: Path, config: str, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(config)
    return subprocess.run(
        [sys.executable, "-m", "lockgate", "serve", "-c", str(cfg), *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_invalid_config_stops_start_up_naming_file_and_field(tmp_path: Path) -> None:
    res = _run_serve(tmp_path, "server: {port: many}\n")
    assert res.returncode == 1
    assert "c.yaml" in res.stderr and "server.port" in res.stderr
    assert "Traceback" not in res.stderr


def test_keyless_refuses_public_binding(tmp_path: Path) -> None:
    cfg = f"data_dir: {tmp_path}\nproviders:\n  p: {{kind: openai, base_url: 'http://127.0.0.1:9/v1'}}\n"
    res = _run_serve(tmp_path, cfg, "--host", "0.0.0.0", "--port", "0")
    assert res.returncode == 1
    assert "refusing to listen on 0.0.0.0 without API keys" in res.stderr


async def test_secrets_never_in_logs_or_responses_and_clean_stop(tmp_path: Path) -> None:
    up = FakeUpstream("up")
    await up.start()
    config = (
        f"data_dir: {tmp_path / 'state'}\nlogging: {{level: debug}}\n"
        f"providers:\n  up: {{kind: openai, base_url: '{up.url}', api_key: '${{LEAKY_KEY}}'}}\n"
        "models:\n  ok: {deployments: [{provider: up, model: ok}]}\n"
        "  bad: {deployments: [{provider: up, model: bad400}]}\n"
    )
    try:
        gw = start_served_gateway(tmp_path, config, env={"LEAKY_KEY": SECRET})
        client = openai.AsyncOpenAI(base_url=gw.base_url + "/v1", api_key="x", max_retries=0)
        ok = await client.chat.completions.create(model="ok", messages=[{"role": "user", "content": "hi"}])
        assert ok.choices[0].message.content == "up says: hi"
        with pytest.raises(openai.BadRequestError) as info:
            await client.chat.completions.create(model="bad", messages=[{"role": "user", "content": "hi"}])
        assert SECRET not in info.value.response.text
        assert up.headers[0]["Authorization"] == f"Bearer {SECRET}"  # it was used upstream
        code = stop_served_gateway(gw)
    finally:
        await up.close()
    assert code == 0
    log = gw.log_text()
    assert "lockgate serving on" in log
    assert SECRET not in log
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert os.environ.get("LEAKY_KEY") is None
