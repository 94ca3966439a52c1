"""`lockgate serve` at the default log level: one line per thing the operator needs, no
library INFO noise (alembic's plugin and migration lines, aiohttp's chatter)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lockgate.cli.serve import NOISY_LIBRARIES


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(60)
def test_default_start_up_log_has_no_library_noise(tmp_path: Path) -> None:
    cfg = tmp_path / "lockgate.yaml"
    cfg.write_text(
        f"data_dir: {tmp_path / 'state'}\n"
        "providers:\n  up: {kind: openai, base_url: 'http://127.0.0.1:9/v1'}\n"
        "models:\n  ok: {deployments: [{provider: up, model: ok}]}\n"
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lockgate", "serve", "-c", str(cfg), "--port", str(_free_port())],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ},
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 45
        while "serving on" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(20)
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    assert any("serving on" in line for line in lines), lines
    noisy = [
        line
        for line in lines
        if re.search(r" (DEBUG|INFO) (" + "|".join(map(re.escape, NOISY_LIBRARIES)) + r")\b", line)
    ]
    assert noisy == []
    assert not any("alembic" in line for line in lines), lines
    # start-up and shutdown together stay short: one line per fact the operator needs
    assert len(lines) <= 6, lines
