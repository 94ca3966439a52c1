"""Fixtures for the console's actions, made through the console lab's own gateway.

Evaluation runs come from the real runner (``eval.session.execute``): the scripted upstreams
answer ``<provider> says: <prompt>``, so an item that expects ``cn says`` passes while
deepseek-chat is served from CN and fails once CN is cut and the self-hosted copy answers.
A second registered artifact (Llama 3.2 Vision) is blocked for an EU operator until acknowledged."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lockgate.eval.results import parse_models
from lockgate.eval.session import RunRequest, execute
from lockgate.registry.artifacts import add
from tests.registry.conftest import write_gguf
from tests.support.console_lab import ConsoleLab

BLOCKED_MODEL = "Llama-3.2-11B-Vision-Instruct"

SUITE = """name: sovereignty-smoke
description: Echo and origin checks against the scripted upstreams.
items:
  - {id: echo, prompt: "hello there", expected: [hello], scorer: contains_any, tags: [echo]}
  - {id: served-from-cn, prompt: "where are you", expected: ["cn says"], scorer: contains_any, tags: [origin]}
  - {id: not-us, prompt: "which provider", expected: ["us says"], scorer: contains_any, tags: [origin]}
"""


def runs_dir(lab: ConsoleLab) -> Path:
    return Path(lab.gw.cfg.eval.runs_dir)


async def run_eval(lab: ConsoleLab, name: str, models: str = "deepseek-chat") -> Path:
    """Run the suite into ``<runs_dir>/<name>`` and return that directory."""
    suite = runs_dir(lab).parent / "sovereignty-smoke.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    out = runs_dir(lab) / name
    req = RunRequest(suite=str(suite), models=parse_models(models), out=out, base_url=lab.base + "/v1",
                     api_key=lab.client_key, concurrency=2, run_id=name)  # fmt: skip
    outcome = await execute(req)
    assert outcome.info.complete and (out / "report.html").is_file()
    return out


async def register_blocked(lab: ConsoleLab, tmp_path: Path) -> str:
    """Register an artifact whose licence excludes EU-domiciled operators; returns its id."""
    store = lab.gw.store
    assert store is not None
    path = write_gguf(tmp_path / "models" / f"{BLOCKED_MODEL}.gguf", BLOCKED_MODEL, "llama3.2")
    art = await asyncio.to_thread(add, store, path)
    return art.id
