"""Start each gateway under test with one worker, in front of the static upstream or the engine."""

from __future__ import annotations

import shutil
import sys
import urllib.request
from pathlib import Path

import yaml

from lockbench.peers import SHORT_PROMPT, Endpoint, Features, litellm_config, lockgate_config
from lockbench.procs import BenchError, Service, free_port, start, wait_ready

BENCH_DIR = Path(__file__).resolve().parent.parent
UPSTREAM_KEY = "bench-upstream-key"
# LiteLLM reads these at import; together they keep it off the network and quiet.
LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "DISABLE_SCHEMA_UPDATE": "True",
    "LITELLM_LOG": "ERROR",
    "LITELLM_MODE": "PRODUCTION",
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def _probe(endpoint: Endpoint) -> urllib.request.Request:
    target = endpoint.chat(SHORT_PROMPT)
    return urllib.request.Request(target.url, data=target.body, headers=target.headers, method="POST")


def secret_env(key: str) -> dict[str, str]:
    return {"BENCH_KEY": key, "BENCH_UPSTREAM_KEY": UPSTREAM_KEY}


def start_aiohttp(work: Path, upstream_base: str, key: str) -> tuple[Service, Endpoint]:
    port = free_port()
    argv = [sys.executable, str(BENCH_DIR / "aiohttp_passthrough.py"), str(port), upstream_base]
    service = start("aiohttp", argv, port, work / "logs", secret_env(key))
    endpoint = Endpoint("aiohttp", f"http://127.0.0.1:{port}", key, sse_path="/sse/v1/chat/completions")
    wait_ready(service, _probe(endpoint), timeout=30)
    return service, endpoint


def lockgate_binary() -> Path:
    found = Path(sys.executable).parent / "lockgate"
    if not found.exists():
        raise BenchError(f"lockgate: {found} not found; run bench/run.sh from the repository root")
    return found


def start_lockgate(
    label: str, features: Features, work: Path, routes: dict[str, tuple[str, str]], key: str
) -> tuple[Service, Endpoint]:
    port = free_port()
    home = work / "lockgate" / label
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    config = home / "lockgate.yaml"
    data = lockgate_config(features, port, home / "data", routes)
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    argv = [str(lockgate_binary()), "serve", "-c", str(config), "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(features.workers)]  # fmt: skip
    service = start(f"lockgate-{label}", argv, port, work / "logs", secret_env(key))
    model, sse_model = _aliases(routes)
    endpoint = Endpoint(f"lockgate[{label}]", f"http://127.0.0.1:{port}", key, model, sse_model)
    wait_ready(service, _probe(endpoint), timeout=90)
    return service, endpoint


def start_litellm(
    litellm: Path, work: Path, routes: dict[str, tuple[str, str]], key: str
) -> tuple[Service, Endpoint]:
    port = free_port()
    home = work / "litellm"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "litellm.yaml"
    config.write_text(yaml.safe_dump(litellm_config(routes), sort_keys=False), encoding="utf-8")
    argv = [
        str(litellm),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    service = start("litellm", argv, port, work / "logs", {**secret_env(key), **LITELLM_ENV})
    model, sse_model = _aliases(routes)
    endpoint = Endpoint("litellm", f"http://127.0.0.1:{port}", key, model, sse_model)
    wait_ready(service, _probe(endpoint), timeout=240)
    return service, endpoint


def _aliases(routes: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """The alias for plain calls and the one for streams (the same when there is one alias)."""
    names = list(routes)
    return names[0], names[-1]
