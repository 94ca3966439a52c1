"""The OpenAPI document against the running gateway: schemathesis with every check.

A gateway with a scripted upstream and an admin key is fuzzed from its own /openapi.json:
positive and negative data (the negative-data phase), response-schema, status-code and
content-type conformance, stateful links. Any failure fails the test. The budget
(examples per operation, deterministic generation, a time cap) keeps it well under 90 s on two slow cores.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.support.gateway import remote, running_gateway
from tests.support.upstream import FakeUpstream

pytest.importorskip("schemathesis")

ADMIN_KEY = "sk-admin-schemathesis-0123456789"
MAX_EXAMPLES = 12
MAX_TIME_S = 70


def _config(up: FakeUpstream) -> dict[str, Any]:
    return {
        "providers": {"up": remote(up.url, timeouts={"connect": 2, "read": 2.0})},
        "models": {"ok": {"deployments": [{"provider": "up", "model": "ok"}]}},
        "retry": {"attempts": 1, "backoff_initial": 0.01, "backoff_max": 0.05},
        "pii": {"enabled": False},
        "auth": {"mode": "keys", "admin_key": f"${{LOCKGATE_ST_ADMIN_KEY:-{ADMIN_KEY}}}"},
    }


async def _get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        return await r.json()


def _st() -> list[str]:
    exe = shutil.which("st", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "schemathesis.cli"]


async def test_readyz_detail_only_for_admin_keys(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with running_gateway(_config(upstream), tmp_path) as (base, _), aiohttp.ClientSession() as http:
        async with http.get(base + "/readyz") as r:
            anonymous = await r.json()
        async with http.get(base + "/readyz", headers={"Authorization": "Bearer sk-wrong"}) as r:
            wrong = await r.json()
        async with http.get(base + "/readyz", headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as r:
            admin = await r.json()
    assert set(anonymous) == {"status"} and set(wrong) == {"status"}
    assert upstream.url not in str(anonymous)
    assert admin["status"] == anonymous["status"]
    assert {"aliases", "providers", "engines"} <= set(admin)
    assert upstream.url.rstrip("/") in str(admin["providers"])


async def test_openapi_declares_path_parameters(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with running_gateway(_config(upstream), tmp_path) as (base, _):
        spec = await _get_json(base + "/openapi.json")
    for path, ops in spec["paths"].items():
        wanted = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        for op in ops.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == wanted, (path, declared)
    for route in (
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1/responses",
        "/v1/responses/{response_id}",
    ):
        assert route in spec["paths"]


@pytest.mark.timeout(150)
async def test_schemathesis_finds_nothing(upstream: FakeUpstream, tmp_path: Path) -> None:
    async with running_gateway(_config(upstream), tmp_path) as (base, _):
        proc = await asyncio.create_subprocess_exec(
            *_st(), "run", f"{base}/openapi.json",
            "--checks", "all", "--mode", "all",
            "--phases", "examples,coverage,fuzzing,stateful",
            "--max-examples", str(MAX_EXAMPLES), "--max-time", str(MAX_TIME_S),
            "--generation-deterministic",
            "--header", f"Authorization: Bearer {ADMIN_KEY}",
            # one worker: CPython 3.11 before 3.11.8 can fail ast.parse in concurrent threads
            # ("AST constructor recursion depth mismatch", gh-106905), which hypothesis calls
            "--request-timeout", "10", "--workers", "1",
            "--suppress-health-check", "all",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
        )  # fmt: skip
        out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    print(text)  # the whole report, shown by pytest when the test fails
    assert proc.returncode == 0, "schemathesis found failures; see the captured output"
