"""A throwaway gateway for the tune run's evaluation: ``lockgate serve`` as a child process.

It serves two aliases on one local llama.cpp engine — ``base`` (the base GGUF) and ``tuned``
(the same GGUF with the new adapter, the way an operator would serve it) — on a free loopback
port, keyless.  It keeps its own state (store, audit chain, logs) in ``RUN_DIR/gateway``, so
the evaluation's requests are audited there and never interleave with the operator's own
gateway's chain.  Base and adapter are registered in that store with the same pins, so the
serving gate checks them as it would anywhere.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lockgate.tune.errors import TuneError

PROVIDER = "tune-engine"
BASE_ALIAS = "base"
TUNED_ALIAS = "tuned"
READY_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class GatewayPlan:
    state_dir: Path
    base_model: Path
    adapter: Path
    operator: dict[str, Any]
    acknowledge: list[str]


def config_for(plan: GatewayPlan) -> dict[str, Any]:
    engine = {
        "model": str(plan.base_model),
        "replicas": 1,
        "context": 2048,
        "embeddings": False,
        "acknowledge": plan.acknowledge,
    }
    return {
        "data_dir": str(plan.state_dir),
        "auth": {"mode": "none"},
        "operator": plan.operator,
        "providers": {PROVIDER: {"kind": "llamacpp", "engine": engine}},
        "models": {
            BASE_ALIAS: {"deployments": [{"provider": PROVIDER, "model": BASE_ALIAS}]},
            TUNED_ALIAS: {
                "deployments": [{"provider": PROVIDER, "model": TUNED_ALIAS, "adapter": str(plan.adapter)}]
            },
        },
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _tail(log: Path, lines: int = 15) -> str:
    text = log.read_text(errors="replace") if log.is_file() else ""
    return " | ".join(text.strip().splitlines()[-lines:])


@contextmanager
def served(plan: GatewayPlan) -> Iterator[str]:
    """Write the config, start the gateway, yield its ``/v1`` base URL, stop it on exit."""
    plan.state_dir.mkdir(parents=True, exist_ok=True)
    cfg_path = plan.state_dir / "lockgate.yaml"
    cfg_path.write_text(yaml.safe_dump(config_for(plan), sort_keys=False), encoding="utf-8")
    port, log = _free_port(), plan.state_dir / "serve.log"
    cmd = [sys.executable, "-m", "lockgate", "serve", "-c", str(cfg_path), "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if k != "LOCKGATE_CONFIG"}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _ready(url):
            if proc.poll() is not None:
                raise TuneError(f"the evaluation gateway exited ({proc.returncode}): {_tail(log)}")
            if time.monotonic() > deadline:
                raise TuneError(
                    f"the evaluation gateway was not ready in {READY_TIMEOUT_S:.0f} s: {_tail(log)}"
                )
            time.sleep(0.3)
        yield url + "/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
