"""The real Claude Code and Codex CLIs against the loopback capture server.

These pin what each CLI needs to run offline against a custom base URL (tests/agents/clis.py)
and what it sends (tests/agents/fixtures/).  They need the CLIs that ``scripts/agents.sh``
installs into .agents/ and are skipped without them.  Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.agents import clis
from tests.agents.capture import REPLY_TEXT, CaptureServer

pytestmark = pytest.mark.agents

FIXTURES = Path(__file__).resolve().parent / "fixtures"
API_KEY = "lg-agent-test-key"
MODEL = "lockgate-test"
TIMEOUT = 120

needs_claude = pytest.mark.skipif(
    not clis.claude_available(), reason="Claude Code is not installed: run scripts/agents.sh"
)
needs_codex = pytest.mark.skipif(
    not clis.codex_available(), reason="Codex is not installed: run scripts/agents.sh"
)


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    with CaptureServer() as server:
        yield server


def _explain(proc: Any, capture: CaptureServer) -> str:
    return f"exit {proc.returncode}\nstdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-3000:]}\nseen: {capture.paths()}"


# -- Claude Code ---------------------------------------------------------------------------------


@needs_claude
@pytest.mark.parametrize("auth", ["x-api-key", "bearer"])
def test_claude_code_answers_through_base_url(capture: CaptureServer, auth: str) -> None:
    proc = clis.run_claude(capture.url, API_KEY, MODEL, "Say hi", TIMEOUT, auth=auth)
    assert proc.returncode == 0, _explain(proc, capture)
    assert REPLY_TEXT in proc.stdout, _explain(proc, capture)

    seen = capture.snapshot()
    # Nothing but the Messages call: no HEAD /api/hello preflight, model listing or count_tokens.
    assert [(r["method"], r["path"]) for r in seen] == [("POST", "/v1/messages")], capture.paths()
    req = seen[0]
    assert req["query"] == {"beta": "true"}
    headers = req["headers"]
    assert headers["anthropic-version"] == "2023-06-01"
    assert "claude-code-20250219" in headers["anthropic-beta"].split(",")
    assert headers.get("x-claude-code-session-id")
    if auth == "bearer":
        assert headers["authorization"] == "Bearer <redacted>" and "x-api-key" not in headers
    else:
        assert headers["x-api-key"] == "<redacted>" and "authorization" not in headers
    body = req["body"]
    assert body["model"] == MODEL and body["stream"] is True
    assert body["messages"][0]["role"] == "user"
    assert any(b.get("text") == "Say hi" for b in body["messages"][0]["content"])
    assert {t["name"] for t in body["tools"]} >= {"Bash", "Read", "Edit", "Write"}


@needs_claude
def test_claude_code_lean_request(capture: CaptureServer) -> None:
    proc = clis.run_claude(
        capture.url, API_KEY, MODEL, "Say hi", TIMEOUT, lean=True, max_output_tokens=256, context_window=8192
    )
    assert proc.returncode == 0, _explain(proc, capture)
    assert REPLY_TEXT in proc.stdout
    body = capture.snapshot()[-1]["body"]
    assert body["tools"] == [] and body["max_tokens"] == 256
    assert len(json.dumps(body)) < 4000  # fits a small local model's context


# -- Codex ----------------------------------------------------------------------------------------


@needs_codex
def test_codex_answers_through_base_url(capture: CaptureServer) -> None:
    proc = clis.run_codex(capture.url, API_KEY, MODEL, "Say hi", TIMEOUT)
    assert proc.returncode == 0, _explain(proc, capture)
    assert proc.stdout.strip() == REPLY_TEXT, _explain(proc, capture)

    seen = capture.snapshot()
    assert [(r["method"], r["path"]) for r in seen] == [("POST", "/v1/responses")], capture.paths()
    req = seen[0]
    headers = req["headers"]
    assert headers["authorization"] == "Bearer <redacted>"
    assert headers["accept"] == "text/event-stream"
    assert headers.get("session-id") and headers.get("originator") == "codex_exec"
    assert "content-encoding" not in headers  # API-key auth sends the body uncompressed
    body = req["body"]
    assert body["model"] == MODEL and body["stream"] is True and body["store"] is False
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["prompt_cache_key"] == headers["session-id"]
    last = body["input"][-1]
    assert last["role"] == "user" and last["content"][0] == {"type": "input_text", "text": "Say hi"}
    # Codex sends tool types other than "function" by default: a gateway must skip, not refuse, them.
    assert {t["type"] for t in body["tools"]} >= {"function", "namespace", "web_search"}


@needs_codex
def test_codex_lean_request(capture: CaptureServer) -> None:
    proc = clis.run_codex(capture.url, API_KEY, MODEL, "Say hi", TIMEOUT, lean=True, context_window=8192)
    assert proc.returncode == 0, _explain(proc, capture)
    assert proc.stdout.strip() == REPLY_TEXT
    body = capture.snapshot()[-1]["body"]
    assert {t["type"] for t in body["tools"]} <= {"function"}
    assert body["input"][0]["content"][0]["text"] == clis.LEAN_SYSTEM_PROMPT
    assert len(json.dumps(body)) < 8000


# -- the recorded fixtures ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["claude_code_request.json", "codex_request.json"])
def test_fixtures_hold_no_secret(name: str) -> None:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    records = json.loads(text)
    assert records and all({"method", "path", "query", "headers", "body"} <= set(r) for r in records)
    for rec in records:
        for header in ("authorization", "x-api-key"):
            assert rec["headers"].get(header, "<redacted>").endswith("<redacted>")
    assert "lg-test-key" not in text
