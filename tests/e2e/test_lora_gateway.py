"""End to end: a real `lockgate serve` with the bundled SmolLM2 and a LoRA adapter alias on the
same engine; the serving gate refuses the adapter until it is registered."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from tests.conftest import start_served_gateway, stop_served_gateway
from tests.engines.lora_fixture import write_lora

from lockgate.engines.models import resolve_model_path

pytestmark = pytest.mark.engine

PROMPT = "Tell me one short fact about the sea."


def _config(tmp: Path, adapter: Path) -> str:
    return f"""
data_dir: {tmp / "state"}
providers:
  local:
    kind: llamacpp
    engine: {{model: "bundled:smollm2", replicas: 1, context: 1024, parallel: 4, prefix_cache: false}}
models:
  smollm2:
    deployments: [{{provider: local, model: smollm2}}]
  support-bot:
    deployments: [{{provider: local, model: smollm2, adapter: "{adapter}"}}]
"""


async def _ask(client: openai.AsyncOpenAI, alias: str) -> str:
    reply = await client.chat.completions.create(
        model=alias, messages=[{"role": "user", "content": PROMPT}], max_tokens=24, temperature=0
    )
    return reply.choices[0].message.content or ""


def test_an_adapter_alias_is_served_on_the_base_engine_once_registered(tmp_path: Path) -> None:
    adapter = write_lora(
        resolve_model_path("bundled:smollm2"), tmp_path / "adapters" / "support.gguf", seed=3
    )
    config = _config(tmp_path, adapter)
    (tmp_path / "refused").mkdir()
    with pytest.raises(RuntimeError, match=rf"model {adapter}: not registered; run `lockgate models add"):
        start_served_gateway(tmp_path / "refused", config)

    cfg_file = tmp_path / "lockgate.yaml"
    cfg_file.write_text(config)
    added = subprocess.run(
        [sys.executable, "-m", "lockgate", "models", "add", str(adapter), "--licence", "Apache-2.0",
         "-c", str(cfg_file)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    gw = start_served_gateway(tmp_path, config)
    try:
        client = openai.AsyncOpenAI(
            base_url=gw.base_url + "/v1", api_key="unused", max_retries=0, timeout=300
        )

        async def run() -> None:
            base = await _ask(client, "smollm2")
            tuned = await _ask(client, "support-bot")
            assert base.strip() and tuned.strip() and tuned != base
            together = await asyncio.gather(*(_ask(client, a) for a in ("smollm2", "support-bot") * 2))
            assert together[0::2] == [base, base]  # the base alias is unchanged beside the adapter
            # the adapter still applies; its own text may differ in the last bits from its single
            # run when two of its sequences share a step (F32 adapter matrices, docs/engine.md)
            assert all(text.strip() and text != base for text in together[1::2])

        asyncio.run(run())
    finally:
        stop_served_gateway(gw)
