"""``lockgate serve`` options: --workers and server.workers, and their one-line errors."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from lockgate.cli import cli
from lockgate.server.workers import MAX_DEFAULT_WORKERS, default_workers


def _config(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"data_dir: {tmp_path / 'state'}\n"
        "providers:\n  up: {kind: openai, base_url: 'http://127.0.0.1:9/v1'}\n"
        "models:\n  ok: {deployments: [{provider: up, model: ok}]}\n" + extra
    )
    return cfg


@pytest.mark.parametrize("value", ["0", "-1", "-8"])
def test_workers_below_one_is_a_one_line_error_naming_the_flag(tmp_path: Path, value: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "-c", str(_config(tmp_path)), "--workers", value])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: --workers: must be at least 1, got {value}"


def test_workers_that_is_not_a_number_names_the_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "-c", str(_config(tmp_path)), "--workers", "many"])
    assert result.exit_code == 2
    assert "'--workers'" in result.output and "'many' is not a valid integer" in result.output


@pytest.mark.parametrize("value", ["0", "65", "two"])
def test_server_workers_out_of_range_names_the_field(tmp_path: Path, value: str) -> None:
    result = CliRunner().invoke(
        cli, ["serve", "-c", str(_config(tmp_path, f"server: {{workers: {value}}}\n"))]
    )
    assert result.exit_code == 1
    assert "server.workers" in result.output and "Traceback" not in result.output


def test_a_taken_port_is_refused_before_any_worker_starts(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        args = ["serve", "-c", str(_config(tmp_path)), "--port", str(port), "--workers", "2"]
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert f"server.port: cannot bind 127.0.0.1:{port} for the workers" in result.output
    assert not (tmp_path / "state").exists(), "nothing was started or created"


def test_default_is_one_worker_per_usable_core_capped() -> None:
    assert default_workers() == max(1, min(len(os.sched_getaffinity(0)), MAX_DEFAULT_WORKERS))
