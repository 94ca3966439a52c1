"""``lockgate serve``: run the gateway."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from lockgate.cli.common import config_option, load
from lockgate.errors import ConfigError

# Libraries whose INFO lines (alembic's plugin and migration steps, aiohttp's access and
# server chatter) tell the operator nothing; they speak at WARNING unless logging is DEBUG.
NOISY_LIBRARIES = ("alembic", "aiohttp", "asyncio", "urllib3", "httpx", "httpcore", "filelock",
                   "huggingface_hub", "sqlalchemy", "presidio-analyzer", "picklescan")  # fmt: skip


def quiet_libraries(level: int) -> None:
    """Keep library loggers at WARNING at the default level; DEBUG lets everything through."""
    if level <= logging.DEBUG:
        return
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


@click.command()
@click.option("--host", default=None, help="Address to bind (default: server.host, 127.0.0.1).")
@click.option(
    "--port", default=None, type=click.IntRange(0, 65535), help="Port (default: server.port, 8080)."
)
@config_option
def serve(host: str | None, port: int | None, config_path: Path | None) -> None:
    """Run the OpenAI-compatible gateway (the bundled SmolLM2 model when no config is given)."""
    from aiohttp import web

    from lockgate import gcpolicy
    from lockgate.server.app import build_app
    from lockgate.server.assemble import build_gateway

    cfg = load(config_path)
    host = host or cfg.server.host
    port = cfg.server.port if port is None else port
    logging.basicConfig(
        level=cfg.logging.level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    quiet_libraries(logging.getLogger().getEffectiveLevel())
    try:
        gateway = build_gateway(cfg, host, port)
        gateway.check_binding()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
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

    try:
        web.run_app(app, host=host, port=port, print=ready, access_log=None, shutdown_timeout=15,
                    handle_signals=True)  # fmt: skip
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:
        if type(exc).__name__ in ("EngineStartError", "GateRefused"):
            raise click.ClickException(str(exc)) from None
        raise
