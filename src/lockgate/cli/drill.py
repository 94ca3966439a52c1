"""``lockgate drill``: what keeps working if a provider, a country or a law is cut off."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from lockgate.cli.common import config_option, load, one_line_errors
from lockgate.config.schema import GatewayConfig
from lockgate.sovereignty.drill import DrillReport, UnknownPolicy, evaluated_policies, run_drill
from lockgate.sovereignty.drill_live import LiveResult, live_check
from lockgate.sovereignty.targets import InvalidCutTarget, normalise_target

_STYLE = {"ok": "green", "degraded": "yellow", "insured": "cyan", "dark": "bold red"}


_LEGEND = (
    "ok: unaffected · degraded: lost deployments to the cuts · "
    "insured: only self-hosted copies serve · dark: nothing serves"
)


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
    for col in ("alias", "policy", "status", "serving", "lost (why)", "excluded by policy"):
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
        )
    return table


def _live_table(results: list[LiveResult]) -> Table:
    table = Table(title="Live requests through the gateway")
    for col in ("alias", "status", "provider", "error"):
        table.add_column(col)
    for r in results:
        table.add_row(r.alias, str(r.status or "-"), r.provider or "-", r.error or "-")
    return table


def _summary(report: DrillReport) -> str:
    dark = sorted({v.alias for v in report.dark_protected})
    if dark:
        return f"FAIL: protected alias(es) go dark: {', '.join(dark)}"
    return "OK: every protected alias keeps working"


@click.command("drill")
@config_option
@click.option("--cut", "cuts", multiple=True, metavar="TARGET", help="Provider, country code or law to cut.")
@click.option("--policy", "policies", multiple=True, help="Evaluate this policy too (default: all defined).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--live", is_flag=True, help="Also send one real request per alias through a gateway.")
@click.option("--url", default="http://127.0.0.1:8080", show_default=True, help="Gateway URL for --live.")
@click.option("--key", envvar="LOCKGATE_API_KEY", default=None, help="Admin API key for --live.")
@one_line_errors
def drill(
    config_path: Path | None,
    cuts: tuple[str, ...],
    policies: tuple[str, ...],
    as_json: bool,
    live: bool,
    url: str,
    key: str | None,
) -> None:
    """Exit drill: per alias and policy, what keeps working when TARGETs are cut.

    Exits 1 when an alias marked 'protected: true' would go dark under an evaluated policy.
    """
    cfg = load(config_path)
    if live and not key:
        raise click.ClickException("--key: --live needs an admin API key (or set LOCKGATE_API_KEY)")
    report = run_drill(cfg, _targets(cfg, cuts), _policies(cfg, policies))
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
        console.print(_table(report))
        if live:
            console.print(_live_table(results))
        console.print(_summary(report))
    if report.dark_protected:
        raise SystemExit(1)
