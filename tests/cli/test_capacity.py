"""``lockgate capacity`` and the capacity column of ``lockgate drill`` on a synthetic usage history,
with measured figures from a scripted admin API on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from lockgate.audit.signing import load_or_create_key
from lockgate.audit.testing import fill_chain, sample_record
from lockgate.cli.capacity import capacity
from lockgate.cli.drill import drill
from lockgate.storage.db import open_store

ADMIN = "sk-admin-capacity-test"


def write_config(tmp_path: Path, cn_capacity: Any = 3000, name: str = "lockgate.yaml") -> Path:
    cn: dict[str, Any] = {"base_url": "http://127.0.0.1:9/v1", "catalogue": "deepseek"}
    if cn_capacity is not None:
        cn["capacity"] = {"tokens_per_minute": cn_capacity}
    cfg = {
        "data_dir": str(tmp_path / "state"),
        "providers": {"local": {"kind": "llamacpp", "engine": {"replicas": 1}}, "cn": cn},
        "models": {
            "deepseek-chat": {"protected": True, "deployments": [
                {"provider": "cn", "model": "deepseek-chat"},
                {"provider": "local", "model": "r1", "self_hosted_copy_of": "deepseek-chat"}]},
        },
    }  # fmt: skip
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """30 busy minutes of 600 generated tokens on cn/deepseek-chat in the last hour."""
    path = write_config(tmp_path)
    store = open_store(f"sqlite:///{tmp_path / 'state' / 'lockgate.db'}")
    now = time.time()
    records = [
        sample_record(m, started_at=now - 30 - 60 * m, model_alias="deepseek-chat", deployment="cn/deepseek-chat",
                      provider="cn", completion_tokens=600)
        for m in range(30)
    ]  # fmt: skip
    fill_chain(store, load_or_create_key(tmp_path / "signing.key"), records)
    store.dispose()
    return path


class _Admin(BaseHTTPRequestHandler):
    reply: tuple[int, dict[str, Any]] = (200, {})

    def do_GET(self) -> None:
        status, body = self.reply if self.headers.get("Authorization") == f"Bearer {ADMIN}" else (403, {})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def admin_api() -> Iterator[tuple[str, type[_Admin]]]:
    handler = type("Admin", (_Admin,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def measured(local_peak_per_minute: float | None) -> dict[str, Any]:
    figures = {"peak_tokens_per_minute": local_peak_per_minute, "reason": None, "peak_is_lower_bound": False}
    return {"data": [{"provider": "local", "kind": "llamacpp", "deployments": [], "measured": figures,
                      "declared_tokens_per_minute": None}]}  # fmt: skip


def invoke(command: Any, *args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "220", "LOCKGATE_API_KEY": None}).invoke(command, list(args))
    return result.exit_code, result.output


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_capacity_json_load_against_declared_and_unknown(history: Path) -> None:
    code, out = invoke(capacity, "-c", str(history), "--window", "60m", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["window_minutes"] == 60 and data["load_source"].startswith("usage records")
    rows = {r["deployment"]: r for r in data["deployments"]}
    cn = rows["cn/deepseek-chat"]
    assert cn["load"]["p95_tokens_per_minute"] == 600.0 and cn["load"]["busy_minutes"] == 30
    assert cn["capacity_tokens_per_minute"] == 3000.0 and cn["capacity_source"] == "declared"
    assert (
        cn["headroom_tokens_per_minute"] == 2400.0
        and cn["headroom_ratio"] == 5.0
        and cn["utilisation"] == 0.2
    )
    local = rows["local/r1"]
    assert local["load"]["p95_tokens_per_minute"] == 0.0 and local["capacity_tokens_per_minute"] is None
    assert local["headroom_tokens_per_minute"] is None and "--key" in local["capacity_note"]


def test_capacity_table_reads_measured_figures_from_the_gateway(
    history: Path, admin_api: tuple[str, type[_Admin]]
) -> None:
    url, handler = admin_api
    handler.reply = (200, measured(1200.0))
    code, out = invoke(capacity, "-c", str(history), "--window", "60m", "--url", url, "--key", ADMIN)
    assert code == 0, out
    assert "1,200 (measured)" in out and "3,000 (declared)" in out and "2,400 (5.00x)" in out
    assert "measured figures from" in out and url in out


def test_capacity_errors_are_one_line(tmp_path: Path, admin_api: tuple[str, type[_Admin]]) -> None:
    path = str(write_config(tmp_path))
    code, out = invoke(capacity, "-c", path, "--window", "5x")
    assert code != 0 and out == "Error: --window: '5x' is not a window (use e.g. 90m, 24h or 7d)\n"
    code, out = invoke(capacity, "-c", path, "--window", "40d")
    assert code != 0 and out.startswith("Error: --window: '40d' is out of range") and out.count("\n") == 1
    code, out = invoke(capacity, "-c", str(write_config(tmp_path, cn_capacity=0, name="bad.yaml")))
    assert code != 0 and out.endswith(
        "invalid configuration:\n  providers.cn.capacity.tokens_per_minute: "
        "Input should be greater than or equal to 1 (got 0)\n"
    )  # one line per field
    url, _ = admin_api
    code, out = invoke(capacity, "-c", path, "--url", url, "--key", "sk-not-admin")
    assert code != 0 and out.startswith("Error: --key: the gateway at") and "HTTP 403" in out


def test_unreachable_gateway_leaves_capacity_unknown(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    code, out = invoke(capacity, "-c", str(write_config(tmp_path)), "--url", url, "--key", ADMIN, "--json")
    assert code == 0, out
    local = next(r for r in json.loads(out)["deployments"] if r["provider"] == "local")
    assert local["capacity_tokens_per_minute"] is None and "not reachable" in local["capacity_note"]


def test_drill_reports_degraded_when_the_copy_cannot_carry_the_load(
    history: Path, admin_api: tuple[str, type[_Admin]]
) -> None:
    url, handler = admin_api
    handler.reply = (200, measured(240.0))
    args = ["-c", str(history), "--cut", "CN", "--policy", "public-data", "--window", "60m", "--url", url, "--key", ADMIN]  # fmt: skip
    code, out = invoke(drill, *args, "--json")
    assert code == 0, out  # degraded is not dark: the exit code is about protected aliases going dark
    data = json.loads(out)
    row = next(a for a in data["aliases"] if a["policy"] == "public-data")
    assert row["status"] == "degraded" and row["serving"] == ["local/r1"]
    assert row["capacity"]["verdict"] == "short" and row["capacity"]["shortfall_factor"] == 2.5
    assert data["capacity"]["providers"]["local"]["source"] == "measured"
    assert data["capacity"]["capacity_note"] == f"measured figures from {url}"
    code, out = invoke(drill, *args)
    assert "short x2.5" in out and "local: 600/240 measured" in out
    assert "DEGRADED: the survivors cannot carry the moved load of: deepseek-chat" in out
    handler.reply = (200, measured(6000.0))
    code, out = invoke(drill, *args, "--json")
    row = next(a for a in json.loads(out)["aliases"] if a["policy"] == "public-data")
    assert row["status"] == "insured" and row["capacity"]["verdict"] == "covered"


def test_drill_without_capacity_says_unknown_and_bad_window_is_one_line(history: Path) -> None:
    code, out = invoke(drill, "-c", str(history), "--cut", "CN", "--policy", "public-data")
    assert code == 0 and "UNKNOWN capacity for the survivors of: deepseek-chat" in out
    code, out = invoke(drill, "-c", str(history), "--cut", "CN", "--window", "24")
    assert code != 0 and out == "Error: --window: '24' is not a window (use e.g. 90m, 24h or 7d)\n"
