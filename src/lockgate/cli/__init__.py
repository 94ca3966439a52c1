"""The ``lockgate`` command.  Subcommands live one per module and are registered here."""

from __future__ import annotations

import importlib

import click

from lockgate import __version__

# (module, attribute) of each subcommand; a module that is missing is skipped at import.
SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("lockgate.cli.serve", "serve"),
    ("lockgate.cli.config_cmd", "config"),
    ("lockgate.cli.keys", "keys"),
    ("lockgate.cli.providers", "providers"),
    ("lockgate.cli.drill", "drill"),
    ("lockgate.cli.audit", "audit"),
    ("lockgate.cli.usage", "usage"),
    ("lockgate.cli.models", "models"),
    ("lockgate.cli.eval", "eval_group"),
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """lockgate: a sovereign, OpenAI-compatible gateway for open-weight models."""


@cli.command()
def version() -> None:
    """Print the lockgate version."""
    click.echo(f"lockgate {__version__}")


for _module, _attr in SUBCOMMANDS:
    try:
        mod = importlib.import_module(_module)
    except ModuleNotFoundError as exc:
        if exc.name != _module:
            raise
        continue
    cli.add_command(getattr(mod, _attr))


def main() -> None:
    cli()
