"""What ``lockgate capacity`` and ``lockgate drill`` read: measured capacity from a running
gateway's admin API, and the usage records from the configured store."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from lockgate.cli.common import store
from lockgate.config.schema import GatewayConfig
from lockgate.server.views.capacity import drill_inputs
from lockgate.sovereignty.drill_capacity import CapacityInputs
from lockgate.usage.load import parse_window

NO_KEY = "no admin key (--key or LOCKGATE_API_KEY) to read the gateway's measured capacity"


def window_seconds(text: str) -> int:
    try:
        return parse_window(text)
    except ValueError as exc:
        raise click.ClickException(f"--window: {exc}") from None


def fetch_measured(url: str, key: str | None, timeout: float = 5.0) -> tuple[dict[str, dict[str, Any]], str]:
    """Per provider, the figures of ``GET /admin/capacity``; and why a provider has none."""
    if not key:
        return {}, NO_KEY
    req = urllib.request.Request(
        url.rstrip("/").removesuffix("/v1") + "/admin/capacity", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise click.ClickException(
                f"--key: the gateway at {url} refused it for /admin/capacity (HTTP {exc.code})"
            ) from None
        return {}, f"the gateway at {url} answered HTTP {exc.code} for /admin/capacity"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return {}, f"the gateway at {url} is not reachable ({reason})"
    rows = data.get("data") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        return {}, f"the gateway at {url} sent no capacity figures"
    figures = {
        str(r["provider"]): r["measured"]
        for r in rows
        if isinstance(r, dict) and isinstance(r.get("measured"), dict)
    }
    return figures, "this provider is not on the gateway"


def usage_store(cfg: GatewayConfig) -> Engine | None:
    """The store, or None when it is a SQLite file that does not exist yet (nothing recorded)."""
    url = cfg.storage_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).expanduser().exists():
        return None
    return store(cfg)


def capacity_inputs(cfg: GatewayConfig, url: str, key: str | None, window: str) -> tuple[CapacityInputs, str]:
    """The drill's and the capacity report's inputs, and where the measured figures came from."""
    seconds = window_seconds(window)
    figures, why = fetch_measured(url, key)
    note = f"measured figures from {url}" if figures else why
    return drill_inputs(cfg, usage_store(cfg), figures, why, seconds), note
