"""The ``lockgate`` command.  Subcommands live one per module and are registered here.

They are imported only when invoked, so ``lockgate serve`` does not load the evaluation,
registry or reporting libraries into the serving process.
"""

from __future__ import annotations

import importlib

import click

from lockgate import __version__

# command name -> (module, attribute); each module owns one command or group
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("lockgate.cli.serve", "serve"),
    "config": ("lockgate.cli.config_cmd", "config"),
    "keys": ("lockgate.cli.keys", "keys"),
    "providers": ("lockgate.cli.providers", "providers"),
    "drill": ("lockgate.cli.drill", "drill"),
    "capacity": ("lockgate.cli.capacity", "capacity"),
    "audit": ("lockgate.cli.audit", "audit"),
    "usage": ("lockgate.cli.usage", "usage"),
    "migrate": ("lockgate.cli.migrate", "migrate"),
    "models": ("lockgate.cli.models", "models"),
    "eval": ("lockgate.cli.eval", "eval_group"),
    "tune": ("lockgate.cli.tune", "tune"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS:
            module, attr = SUBCOMMANDS[cmd_name]
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """lockgate: a sovereign, OpenAI-compatible gateway for open-weight models."""


@cli.command()
def version() -> None:
    """Print the lockgate version."""
    click.echo(f"lockgate {__version__}")


def main() -> None:
    cli()
