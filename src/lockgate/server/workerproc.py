"""One gateway worker of ``lockgate serve --workers N``: ``python -m lockgate.server.workerproc``.

The supervisor (``server.workers``) sends one JSON line on stdin: the config file, host and
port, this worker's index, the run directory, the audit writer's socket and the local engines'
addresses.  The worker builds the same ``Gateway`` and application a single-process
``lockgate serve`` builds, with three differences:

* its listening socket sets ``SO_REUSEPORT``, so the kernel spreads new connections over the
  workers bound to the same address (see docs/fleet.md for why not one inherited socket);
* records go to the supervisor's one audit writer (``audit.socket_sink``), and local engines
  are attached to, not started (``engines.attached``);
* ``/metrics`` answers for every worker (``server.fleetmetrics``), each response names the
  worker in ``x-lockgate-worker``, and records name it in ``instance`` (``host:port/wN``).

It prints ``ready`` on stdout once it serves, and stops like ``lockgate serve`` on SIGTERM or
SIGINT: no new connections, in-flight requests drained for up to 15 s, records committed.
It dies with the supervisor (``PR_SET_PDEATHSIG``, set by the supervisor when it starts it).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from lockgate import gcpolicy
from lockgate.config.loader import default_config, load_config
from lockgate.config.schema import GatewayConfig
from lockgate.errors import ConfigError
from lockgate.providers.llamacpp import LlamaCppProvider
from lockgate.server import logs, public
from lockgate.server.app import build_app
from lockgate.server.assemble import build_gateway
from lockgate.server.fleetmetrics import WorkerMetrics

WORKER_HEADER = "x-lockgate-worker"


def worker_config(cfg: GatewayConfig, host: str, port: int, index: int) -> GatewayConfig:
    """The config with this worker's instance name: records and usage rows say which worker."""
    base = cfg.server.instance_id or f"{host}:{port}"
    server = cfg.server.model_copy(update={"instance_id": f"{base}/w{index}"})
    return cfg.model_copy(update={"server": server})


def build_worker_app(spec: dict[str, Any], cfg: GatewayConfig) -> web.Application:
    host, port, index = spec["host"], int(spec["port"]), int(spec["index"])
    gateway = build_gateway(
        worker_config(cfg, host, port, index), host, port, audit_socket=spec["audit_socket"]
    )
    for name, urls in spec["engines"].items():
        provider = gateway.providers.get(name)
        if isinstance(provider, LlamaCppProvider):
            provider.attached = list(urls)
    app = build_app(gateway)
    exposition = WorkerMetrics(Path(spec["run_dir"]), index)
    app[public.EXPOSITION] = exposition.expose
    label = str(index)

    async def name_worker(_: web.Request, response: web.StreamResponse) -> None:
        response.headers[WORKER_HEADER] = label

    async def start_metrics(_: web.Application) -> None:
        await exposition.start()

    async def stop_metrics(_: web.Application) -> None:
        await exposition.stop()

    app.on_response_prepare.append(name_worker)
    app.on_startup.append(start_metrics)
    app.on_cleanup.append(stop_metrics)
    app.on_startup.append(gcpolicy.freeze_when_started)  # last: after the gateway has started
    return app


def _ready(_: str) -> None:
    sys.stdout.write("ready\n")
    sys.stdout.flush()


def main() -> None:
    spec = orjson.loads(sys.stdin.buffer.readline())
    try:
        cfg = load_config(Path(spec["config"])) if spec["config"] else default_config()
        logs.configure(cfg.logging.level)
        app = build_worker_app(spec, cfg)
    except ConfigError as exc:
        sys.exit(f"Error: {exc}")
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # pragma: no cover - uvloop is optional on non-Linux
        pass
    gcpolicy.tune()
    try:
        web.run_app(app, host=spec["host"], port=int(spec["port"]), reuse_port=True, print=_ready,
                    access_log=None, shutdown_timeout=15, handle_signals=True)  # fmt: skip
    except ConfigError as exc:
        sys.exit(f"Error: {exc}")
    except Exception as exc:
        if type(exc).__name__ in ("EngineStartError", "GateRefused"):
            sys.exit(f"Error: {exc}")
        raise


if __name__ == "__main__":
    main()
