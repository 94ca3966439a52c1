"""``lockgate serve``: run the gateway (one process, or a supervisor and N workers)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from lockgate.cli.common import config_option, load
from lockgate.config.schema import GatewayConfig
from lockgate.errors import ConfigError
from lockgate.server.logs import NOISY_LIBRARIES, configure, quiet_libraries

__all__ = ["NOISY_LIBRARIES", "quiet_libraries", "serve"]
STARTUP_ERRORS = ("EngineStartError", "GateRefused")


@click.command()
@click.option("--host", default=None, help="Address to bind (default: server.host, 127.0.0.1).")
@click.option(
    "--port", default=None, type=click.IntRange(0, 65535), help="Port (default: server.port, 8080)."
)
@click.option(
    "--workers",
    default=None,
    type=int,
    help="Gateway worker processes on one port (default: server.workers, else one per core, at most 8; "
    "1 runs everything in this process).",
)
@config_option
def serve(host: str | None, port: int | None, workers: int | None, config_path: Path | None) -> None:
    """Run the OpenAI-compatible gateway (the bundled SmolLM2 model when no config is given)."""
    from lockgate.server.workers import default_workers

    if workers is not None and workers < 1:
        raise click.ClickException(f"--workers: must be at least 1, got {workers}")
    cfg = load(config_path)
    host = host or cfg.server.host
    port = cfg.server.port if port is None else port
    count = workers or cfg.server.workers or default_workers()
    configure(cfg.logging.level)
    try:
        if count == 1:
            _serve_here(cfg, host, port)
        else:
            code = _supervise(cfg, config_path, host, port, count)
            if code:
                raise SystemExit(code)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:
        if type(exc).__name__ in STARTUP_ERRORS:
            raise click.ClickException(str(exc)) from None
        raise


def _serve_here(cfg: GatewayConfig, host: str, port: int) -> None:
    """One process: the gateway, its audit writer child and its engines, as always."""
    from aiohttp import web

    from lockgate import gcpolicy
    from lockgate.server.app import build_app
    from lockgate.server.assemble import build_gateway

    gateway = build_gateway(cfg, host, port)
    gateway.check_binding()
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # pragma: no cover - uvloop is optional on non-Linux
        pass
    app = build_app(gateway)
    # last start-up hook: once the gateway is built and started, its heap leaves the collector
    app.on_startup.append(gcpolicy.freeze_when_started)
    gcpolicy.tune()
    aliases = ", ".join(gateway.router.routes) or "none"

    def ready(_: str) -> None:
        click.echo(f"lockgate serving on http://{host}:{port}/v1 (models: {aliases})", err=True)

    web.run_app(app, host=host, port=port, print=ready, access_log=None, shutdown_timeout=15,
                handle_signals=True)  # fmt: skip


def _supervise(cfg: GatewayConfig, config_path: Path | None, host: str, port: int, count: int) -> int:
    from lockgate.server.workers import Supervisor

    def announce(bound: int, aliases: str) -> None:
        click.echo(
            f"lockgate serving on http://{host}:{bound}/v1 (models: {aliases}; {count} workers)", err=True
        )

    return asyncio.run(Supervisor(cfg, config_path, host, port, count).run(announce))
