"""``lockgate drill``: what keeps working if a provider, a country or a law is cut off."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from lockgate.cli.common import config_option, load, one_line_errors
from lockgate.cli.gateway_capacity import capacity_inputs
from lockgate.config.schema import GatewayConfig
from lockgate.sovereignty.drill import AliasVerdict, DrillReport, UnknownPolicy, evaluated_policies, run_drill
from lockgate.sovereignty.drill_live import LiveResult, live_check
from lockgate.sovereignty.targets import InvalidCutTarget, normalise_target

_STYLE = {"ok": "green", "degraded": "yellow", "insured": "cyan", "dark": "bold red"}


_LEGEND = (
    "ok: unaffected · degraded: lost deployments to the cuts, or the survivors cannot carry the load · "
    "insured: only self-hosted copies serve · dark: nothing serves · capacity: p95-minute generated "
    "tokens/min after the cut against capacity, per surviving provider"
)
_CAP_STYLE = {
    "covered": "green",
    "short": "bold red",
    "unknown": "yellow",
    "unaffected": "dim",
    "dark": "dim",
}


def _targets(cfg: GatewayConfig, cuts: tuple[str, ...]) -> list[str]:
    try:
        return list(dict.fromkeys(normalise_target(t, cfg.providers) for t in cuts))
    except InvalidCutTarget as exc:
        raise click.ClickException(f"--cut: {exc}") from None


def _policies(cfg: GatewayConfig, requested: tuple[str, ...]) -> list[str]:
    try:
        return evaluated_policies(cfg, requested)
    except UnknownPolicy as exc:
        raise click.ClickException(str(exc)) from None


def _table(report: DrillReport) -> Table:
    cuts = ", ".join(report.cuts) or "nothing"
    table = Table(title=f"Exit drill: cut {cuts}", caption=_LEGEND)
    for col in ("alias", "policy", "status", "serving", "lost (why)", "excluded by policy", "capacity"):
        table.add_column(col)
    for v in report.verdicts:
        name = f"{v.alias} (protected)" if v.protected else v.alias
        table.add_row(
            name,
            v.policy,
            f"[{_STYLE[v.status]}]{v.status}[/]",
            "\n".join(v.serving) or "-",
            "\n".join(f"{e.deployment}: {e.detail}" for e in v.lost) or "-",
            "\n".join(f"{e.deployment}: {e.rule}" for e in v.excluded) or "-",
            _capacity_cell(v),
        )
    return table


def _figure(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f}"


def _capacity_cell(v: AliasVerdict) -> str:
    cap = v.capacity
    if cap is None:
        return "-"
    verdict = cap["verdict"]
    head = f"[{_CAP_STYLE[verdict]}]{verdict}[/]"
    if verdict == "short":
        head += f" x{cap['shortfall_factor']:g}"
    lines = (
        [head, f"moves {_figure(cap['moved_p95_tokens_per_minute'])}/min"]
        if verdict != "unaffected"
        else [head]
    )
    for s in cap["survivors"]:
        source = f" {s['capacity_source']}" if s["capacity_source"] else ""
        lines.append(
            f"{s['provider']}: {_figure(s['load_after_tokens_per_minute'])}"
            f"/{_figure(s['capacity_tokens_per_minute'])}{source}"
        )
    return "\n".join(lines)


def _live_table(results: list[LiveResult]) -> Table:
    table = Table(title="Live requests through the gateway")
    for col in ("alias", "status", "provider", "error"):
        table.add_column(col)
    for r in results:
        table.add_row(r.alias, str(r.status or "-"), r.provider or "-", r.error or "-")
    return table


def _summary(report: DrillReport) -> str:
    dark = sorted({v.alias for v in report.dark_protected})
    short = sorted({v.alias for v in report.verdicts if v.capacity and v.capacity["verdict"] == "short"})
    unknown = sorted({v.alias for v in report.verdicts if v.capacity and v.capacity["verdict"] == "unknown"})
    lines = [
        f"FAIL: protected alias(es) go dark: {', '.join(dark)}"
        if dark
        else "OK: every protected alias keeps working"
    ]
    if short:
        lines.append(f"DEGRADED: the survivors cannot carry the moved load of: {', '.join(short)}")
    if unknown:
        lines.append(f"UNKNOWN capacity for the survivors of: {', '.join(unknown)}")
    return "\n".join(lines)


@click.command("drill")
@config_option
@click.option("--cut", "cuts", multiple=True, metavar="TARGET", help="Provider, country code or law to cut.")
@click.option("--policy", "policies", multiple=True, help="Evaluate this policy too (default: all defined).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--live", is_flag=True, help="Also send one real request per alias through a gateway.")
@click.option(
    "--url",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="Gateway URL (--live, measured capacity).",
)
@click.option(
    "--key", envvar="LOCKGATE_API_KEY", default=None, help="Admin API key (--live, measured capacity)."
)
@click.option(
    "--window", default="24h", show_default=True, help="Load window for the capacity check (90m, 24h, 7d)."
)
@one_line_errors
def drill(
    config_path: Path | None,
    cuts: tuple[str, ...],
    policies: tuple[str, ...],
    as_json: bool,
    live: bool,
    url: str,
    key: str | None,
    window: str,
) -> None:
    """Exit drill: per alias and policy, what keeps working when TARGETs are cut, and whether
    the survivors can carry the load that moves onto them.

    Exits 1 when an alias marked 'protected: true' would go dark under an evaluated policy.
    """
    cfg = load(config_path)
    if live and not key:
        raise click.ClickException("--key: --live needs an admin API key (or set LOCKGATE_API_KEY)")
    targets, evaluated = _targets(cfg, cuts), _policies(cfg, policies)
    inputs, note = capacity_inputs(cfg, url, key, window)
    report = run_drill(cfg, targets, evaluated, inputs)
    if report.capacity is not None:
        report.capacity["capacity_note"] = note
    results = live_check(url, key or "", list(cfg.models), report.cuts) if live else []
    if as_json:
        data = report.to_dict()
        if live:
            data["live"] = [
                {"alias": r.alias, "status": r.status, "provider": r.provider, "error": r.error}
                for r in results
            ]
        click.echo(json.dumps(data, indent=2))
    else:
        console = Console()
        if not console.is_terminal:  # piped or captured: do not squeeze the columns to 80
            console = Console(width=200)
        console.print(_table(report))
        if live:
            console.print(_live_table(results))
        console.print(_summary(report))
    if report.dark_protected:
        raise SystemExit(1)
