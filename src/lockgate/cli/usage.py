"""``lockgate usage``: requests, tokens, cost and errors per key/team/model/provider/jurisdiction."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from lockgate.audit.dates import parse_when
from lockgate.audit.usage_report import DIMENSIONS, PERIODS, UsageRow
from lockgate.audit.usage_report import usage as usage_rows
from lockgate.cli.common import config_option, load, one_line_errors, store

COLUMNS = [f.name for f in fields(UsageRow)]
HEADERS = {"prompt_tokens": "prompt", "completion_tokens": "completion", "cached_tokens": "cached"}


def _table(rows: list[UsageRow], by: str) -> None:
    table = Table(title=f"usage by {by}")
    for name in COLUMNS:
        header = by if name == "group" else HEADERS.get(name, name)
        numeric = name not in ("period", "group", "currency")
        table.add_column(
            header, justify="right" if numeric else "left", no_wrap=name != "group", overflow="fold"
        )
    for r in rows:
        table.add_row(
            r.period,
            r.group or "-",
            r.currency or "-",
            str(r.requests),
            str(r.prompt_tokens),
            str(r.completion_tokens),
            str(r.cached_tokens),
            f"{r.cost:.6f}",
            str(r.errors),
        )
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the columns to 80
        console = Console(width=160)
    console.print(table)


def _json(rows: list[UsageRow], _by: str) -> None:
    click.echo(json.dumps([r.as_dict() for r in rows], indent=2))


def _csv(rows: list[UsageRow], _by: str) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(r.as_dict() for r in rows)


PRINTERS: dict[str, Callable[[list[UsageRow], str], None]] = {"table": _table, "json": _json, "csv": _csv}


@click.command("usage")
@config_option
@click.option("--by", type=click.Choice(sorted(DIMENSIONS)), default="key", show_default=True)
@click.option("--period", type=click.Choice(PERIODS), default="day", show_default=True)
@click.option("--since", help="Only requests started on or after this date (YYYY-MM-DD or ISO time).")
@click.option("--json", "output", flag_value="json", help="Print JSON.")
@click.option("--csv", "output", flag_value="csv", help="Print CSV.")
@one_line_errors
def usage(config_path: Path | None, by: str, period: str, since: str | None, output: str | None) -> None:
    """Usage and cost from the audit log, per period and group."""
    cfg = load(config_path)
    start = None
    if since:
        try:
            start = parse_when(since)
        except ValueError:
            raise click.ClickException(f"--since: {since!r} is not a date (use YYYY-MM-DD)") from None
    rows = usage_rows(store(cfg), by, period, start)
    PRINTERS[output or "table"](rows, by)
