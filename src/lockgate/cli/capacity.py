"""``lockgate capacity``: recent load per alias and deployment against capacity, and headroom."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from lockgate.cli.common import config_option, load, one_line_errors
from lockgate.cli.gateway_capacity import capacity_inputs
from lockgate.sovereignty.capacity import DeploymentLoad, headroom_report


def _num(value: float | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value:,.1f}{suffix}"


def _capacity(row: DeploymentLoad) -> str:
    cap = row.headroom.capacity
    if cap.tokens_per_minute is None:
        return "[yellow]unknown[/]"
    return f"{cap.tokens_per_minute:,.0f} ({cap.source})"


def _headroom(row: DeploymentLoad) -> str:
    h = row.headroom
    if h.tokens_per_minute is None:
        return "[yellow]unknown[/]"
    style = "red" if h.tokens_per_minute < 0 else "green"
    ratio = "idle" if h.ratio is None else f"{h.ratio:,.2f}x"
    return f"[{style}]{h.tokens_per_minute:,.0f} ({ratio})[/]"


def _table(rows: list[DeploymentLoad], minutes: int, note: str) -> Table:
    table = Table(
        title=f"Load (p95 minute of the last {minutes} min) against capacity, generated tokens per minute",
        caption=f"capacity: measured (peak since the gateway started) or declared in the config · {note}",
    )
    for col in ("alias", "deployment", "load p95", "peak", "provider load p95", "capacity", "headroom"):
        table.add_column(col, justify="left" if col in ("alias", "deployment", "capacity") else "right")
    for r in rows:
        table.add_row(
            r.alias, r.deployment, _num(r.load.p95_tokens_per_minute), _num(r.load.peak_tokens_per_minute),
            _num(r.pool_load.p95_tokens_per_minute), _capacity(r), _headroom(r),
        )  # fmt: skip
    return table


@click.command("capacity")
@config_option
@click.option("--window", default="24h", show_default=True, help="Load window: e.g. 90m, 24h, 7d.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--url",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="Gateway to read measured capacity from.",
)
@click.option("--key", envvar="LOCKGATE_API_KEY", default=None, help="Admin API key for the gateway.")
@one_line_errors
def capacity(config_path: Path | None, window: str, as_json: bool, url: str, key: str | None) -> None:
    """Per alias and deployment: load at the p95 minute against capacity, and the headroom.

    Capacity is what a running gateway measured (GET /admin/capacity, with an admin --key),
    else 'capacity.tokens_per_minute' declared on the provider, else unknown.
    """
    cfg = load(config_path)
    inputs, note = capacity_inputs(cfg, url, key, window)
    rows = headroom_report(cfg, inputs.series, inputs.pools, inputs.window)
    minutes = inputs.window[1] - inputs.window[0] + 1
    if as_json:
        click.echo(json.dumps({
            "window_minutes": minutes, "unit": "generated tokens per minute", "load_source": inputs.source,
            "capacity_note": note, "providers": {n: p.as_dict() for n, p in inputs.pools.items()},
            "deployments": [r.as_dict() for r in rows],
        }, indent=2))  # fmt: skip
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=180)
    console.print(_table(rows, minutes, note))
