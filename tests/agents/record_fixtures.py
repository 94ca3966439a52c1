"""Record what Claude Code and Codex send, as scrubbed JSON fixtures.

    .venv/bin/python -m tests.agents.record_fixtures

Runs each CLI installed by ``scripts/agents.sh`` (default settings, not ``lean``) once with the
prompt "Say hi" against the capture server and writes every request it made to
``tests/agents/fixtures/claude_code_request.json`` and ``codex_request.json``: method, path,
query, headers (key headers shown as ``<redacted>``) and JSON body, with the API key, the
throwaway home directory and the machine / installation ids replaced by placeholders.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from tests.agents import clis
from tests.agents.capture import CaptureServer, scrub

FIXTURES = Path(__file__).resolve().parent / "fixtures"
API_KEY = "lg-test-key-do-not-record"
MODEL = "lockgate-test"
PROMPT = "Say hi"


def _ids(records: list[dict[str, Any]]) -> dict[str, str]:
    """Machine and installation ids found in the requests, mapped to placeholders."""
    found: dict[str, str] = {}
    for rec in records:
        body = rec.get("body") or {}
        user_id = (body.get("metadata") or {}).get("user_id")
        if isinstance(user_id, str) and user_id.startswith("{"):
            dev = json.loads(user_id).get("device_id")
            if dev:
                found[dev] = "<device-id>"
        inst = (body.get("client_metadata") or {}).get("x-codex-installation-id")
        if inst:
            found[inst] = "<installation-id>"
    return found


def record(name: str, run: Any, out: Path) -> list[dict[str, Any]]:
    with CaptureServer() as cap:
        proc = run(cap.url, API_KEY, MODEL, PROMPT, 120)
        records = cap.snapshot()
    if proc.returncode != 0 or not records:
        sys.exit(f"{name}: exit {proc.returncode}, {len(records)} requests\n{proc.stderr[-2000:]}")
    cleaned = scrub(records, {API_KEY: "<api-key>", **_ids(records)})
    text = json.dumps(cleaned, indent=2, ensure_ascii=False)
    text = re.sub(r"/tmp/lockgate-(claude|codex)-[A-Za-z0-9_]+", r"/tmp/lockgate-\1-<home>", text)
    if API_KEY in text:
        sys.exit(f"{name}: the API key survived scrubbing")
    out.write_text(text + "\n", encoding="utf-8")
    print(f"{name}: {len(cleaned)} request(s) -> {out.relative_to(clis.ROOT)}")
    for rec in cleaned:
        print(f"  {rec['method']} {rec['path']} {rec['query'] or ''}")
    return cleaned


def main() -> None:
    if not (clis.claude_available() and clis.codex_available()):
        sys.exit("the CLIs are not installed: run scripts/agents.sh")
    FIXTURES.mkdir(exist_ok=True)
    record("claude", clis.run_claude, FIXTURES / "claude_code_request.json")
    record("codex", clis.run_codex, FIXTURES / "codex_request.json")


if __name__ == "__main__":
    main()
