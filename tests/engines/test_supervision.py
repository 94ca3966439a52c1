"""Local engines: supervised child processes that restart on crash and stop with the gateway."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import openai
import pytest
from tests.support.gateway import running_gateway

from lockgate.config.loader import parse_config
from lockgate.engines.models import resolve_model_path
from lockgate.engines.process import EngineStartError, SupervisedProcess, free_port
from lockgate.errors import ConfigError
from lockgate.providers.llamacpp import LlamaCppProvider

pytestmark = pytest.mark.engine


def _engine_cfg(replicas: int = 1) -> dict[str, object]:
    return {
        "providers": {"local": {"kind": "llamacpp", "engine": {"model": "bundled:smollm2", "replicas": replicas,
                                                               "restart_backoff_initial": 0.2}}},
        "models": {"smollm2": {"deployments": [{"provider": "local", "model": "smollm2"}]}},
    }  # fmt: skip


async def test_crashed_replica_restarts_and_serving_continues(tmp_path: Path) -> None:
    async with running_gateway(_engine_cfg(replicas=2), tmp_path) as (base, gw):
        provider = gw.providers["local"]
        assert isinstance(provider, LlamaCppProvider)
        victim = provider.replicas[0].process
        old_pid = victim.pid
        assert old_pid is not None
        os.kill(old_pid, signal.SIGKILL)
        client = openai.AsyncOpenAI(base_url=base + "/v1", api_key="x", max_retries=0, timeout=120)
        # the other replica keeps serving while the victim restarts
        reply = await client.chat.completions.create(
            model="smollm2", messages=[{"role": "user", "content": "Hi"}], max_tokens=4
        )
        assert reply.choices[0].message.content
        for _ in range(300):
            if victim.healthy and victim.pid != old_pid:
                break
            await asyncio.sleep(0.1)
        assert victim.healthy and victim.pid != old_pid and victim.restarts == 1
        pids = [r.process.pid for r in provider.replicas]
    # stopping the gateway stops every engine process
    for pid in pids:
        assert pid is not None
        with pytest.raises(ProcessLookupError):
            for _ in range(50):
                os.kill(pid, 0)
                await asyncio.sleep(0.1)


async def test_engine_that_cannot_start_reports_its_log(tmp_path: Path) -> None:
    port = free_port()
    proc = SupervisedProcess(
        "broken", [sys.executable, "-c", "import sys; print('boom: no model'); sys.exit(3)"],
        f"http://127.0.0.1:{port}/health", tmp_path / "broken.log", 10, 0.1, 1,
    )  # fmt: skip
    with pytest.raises(EngineStartError, match="exited with code 3") as info:
        await proc.start()
    assert "boom: no model" in str(info.value)


def test_model_path_resolution_errors(tmp_path: Path) -> None:
    assert resolve_model_path("bundled:smollm2").name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    with pytest.raises(ConfigError, match="unknown bundled model 'llama9'"):
        resolve_model_path("bundled:llama9")
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_model_path(str(tmp_path / "absent.gguf"))


async def test_gate_refuses_unregistered_model(tmp_path: Path) -> None:
    copy = tmp_path / "copy.gguf"
    copy.write_bytes(resolve_model_path("bundled:smollm2").read_bytes())
    cfg = _engine_cfg()
    cfg["providers"]["local"]["engine"]["model"] = str(copy)  # type: ignore[index]
    with pytest.raises(Exception, match=r"not registered|unregistered|lockgate models add") as info:
        async with running_gateway(cfg, tmp_path):
            pass
    assert type(info.value).__name__ == "GateRefused"
    _ = parse_config  # the config itself is valid: only the gate refuses
