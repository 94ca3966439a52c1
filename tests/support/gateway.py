"""Run a gateway in-process (aiohttp TestServer) from a config dict, for fast tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from lockgate.config.loader import parse_config
from lockgate.server.app import build_app
from lockgate.server.assemble import build_gateway
from lockgate.server.gateway import Gateway


def remote(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "openai",
        "base_url": url,
        "api_key": "${FAKE_UPSTREAM_KEY:-sk-upstream-secret-123}",
        **extra,
    }


@asynccontextmanager
async def running_gateway(config: dict[str, Any], tmp_path: Path) -> AsyncIterator[tuple[str, Gateway]]:
    config = {"data_dir": str(tmp_path / "state"), **config}
    cfg = parse_config(config, "<test>")
    gw = build_gateway(cfg, "127.0.0.1", 0)
    server = TestServer(build_app(gw), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), gw
    finally:
        await server.close()
