"""Helpers shared by CLI commands: load the config once, open the store, print errors in one line."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine

from lockgate.config.loader import default_config, load_config
from lockgate.config.schema import GatewayConfig
from lockgate.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=lambda: os.environ.get("LOCKGATE_CONFIG"),
    help="lockgate.yaml (default: $LOCKGATE_CONFIG, else the built-in bundled-model setup).",
)


def load(config_path: Path | None) -> GatewayConfig:
    """Load and validate the config, or exit with a one-line (per field) message."""
    try:
        return load_config(config_path) if config_path else default_config()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def store(cfg: GatewayConfig) -> Engine:
    """The store, migrated to this version's schema; a one-line error when it cannot be
    (a newer lockgate migrated it)."""
    from lockgate.storage.db import open_store

    try:
        return open_store(cfg.storage_url())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def one_line_errors(fn: F) -> F:
    """Turn ConfigError/ValueError raised inside a command into a one-line CLI error."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]
