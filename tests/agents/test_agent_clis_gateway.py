"""Claude Code and Codex, the real CLIs, through a real `lockgate serve` with the bundled SmolLM2,
each authenticating with a lockgate API key.  Every answer goes through the one pipeline: the
audit chain names the protocol and verifies afterwards."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from tests.agents import clis
from tests.conftest import _BUNDLED, ServedGateway, start_served_gateway, stop_served_gateway

from lockgate.audit.tables import audit_log
from lockgate.auth.keys import create_key
from lockgate.cli import cli
from lockgate.storage.db import open_store

pytestmark = [pytest.mark.agents, pytest.mark.engine]
PROMPT = "What is the capital of France? Answer in one short sentence."


@pytest.fixture(scope="module")
def keyed_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedGateway, str, Path]]:
    if not (clis.claude_available() and clis.codex_available()):
        pytest.skip("Claude Code and Codex are not installed: run scripts/agents.sh")
    tmp = tmp_path_factory.mktemp("agents-gw")
    data_dir = tmp / "state"
    data_dir.mkdir()
    store = open_store(f"sqlite:///{data_dir / 'lockgate.db'}")
    _, key = create_key(store, "coding-agents")
    store.dispose()
    config = f"data_dir: {data_dir}\n" + _BUNDLED
    gw = start_served_gateway(tmp, config)
    try:
        yield gw, key, tmp / "lockgate.yaml"
    finally:
        stop_served_gateway(gw)


def _explain(proc: object, gw: ServedGateway) -> str:
    return f"{proc}\n--- gateway log ---\n{gw.log_text()[-3000:]}"


def test_claude_code_answers_through_lockgate(keyed_gateway: tuple[ServedGateway, str, Path]) -> None:
    gw, key, _ = keyed_gateway
    proc = clis.run_claude(gw.base_url, key, "smollm2", PROMPT, 240, lean=True, max_output_tokens=64)
    assert proc.returncode == 0, _explain(proc, gw)
    assert len(proc.stdout.split()) >= 2, _explain(proc, gw)  # a real generated answer


def test_codex_answers_through_lockgate(keyed_gateway: tuple[ServedGateway, str, Path]) -> None:
    gw, key, _ = keyed_gateway
    proc = clis.run_codex(gw.base_url, key, "smollm2", PROMPT, 240, lean=True)
    assert proc.returncode == 0, _explain(proc, gw)
    assert len(proc.stdout.split()) >= 2, _explain(proc, gw)


def test_agent_traffic_is_audited_by_protocol(keyed_gateway: tuple[ServedGateway, str, Path]) -> None:
    gw, key, config = keyed_gateway
    for run in (clis.run_claude, clis.run_codex):
        assert run(gw.base_url, key, "smollm2", "Say hi.", 240, lean=True).returncode == 0
    store = open_store(f"sqlite:///{gw.data_dir / 'lockgate.db'}")
    seen: set[tuple[str, int]] = set()
    for _ in range(50):  # records reach the chain through the audit writer within its flush interval
        with store.connect() as conn:
            seen = {
                (r.endpoint, r.status) for r in conn.execute(select(audit_log.c.endpoint, audit_log.c.status))
            }
        if {("anthropic.messages", 200), ("openai.responses", 200)} <= seen:
            break
        time.sleep(0.2)
    store.dispose()
    assert {("anthropic.messages", 200), ("openai.responses", 200)} <= seen
    verified = CliRunner().invoke(cli, ["audit", "verify", "-c", str(config)])
    assert verified.exit_code == 0, verified.output
