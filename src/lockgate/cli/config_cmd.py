"""``lockgate config check FILE``: validate a config without starting anything."""

from __future__ import annotations

from pathlib import Path

import click

from lockgate.config.loader import load_config
from lockgate.errors import ConfigError


@click.group()
def config() -> None:
    """Inspect and validate configuration."""


@config.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Validate FILE; exit 0 when valid, 1 with the field path and what was expected otherwise."""
    try:
        cfg = load_config(file)
        from lockgate.providers.registry import build_provider
        from lockgate.sovereignty.facts import resolve_facts

        for name, p in cfg.providers.items():
            resolve_facts(name, p, cfg.operator.domicile)
            build_provider(name, p, cfg)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{file}: OK ({len(cfg.providers)} providers, {len(cfg.models)} model aliases)")
