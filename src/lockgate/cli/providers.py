"""``lockgate providers``: resolved facts, the built-in catalogue and the kill switch."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from lockgate.cli.common import config_option, load, one_line_errors, store
from lockgate.config.schema import GatewayConfig
from lockgate.sovereignty.catalogue import CatalogueEntry, list_catalogue
from lockgate.sovereignty.cuts import CutSet, add_cut, list_cuts, load_cuts, remove_cut
from lockgate.sovereignty.facts import FACT_NAMES, ResolvedFacts, effective_laws, is_unknown
from lockgate.sovereignty.targets import InvalidCutTarget, classify_target
from lockgate.sovereignty.views import resolve_all

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def _show(value: object) -> str:
    if value is None or value == ():
        return "-"
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _cell(facts: ResolvedFacts, name: str) -> str:
    """A fact for the table; unknown shows '?', unverified gets a trailing '*'."""
    if is_unknown(facts, name):
        return "?"
    mark = "" if facts.verified.get(name, False) else "*"
    return _show(getattr(facts, name)) + mark


def _facts_json(facts: ResolvedFacts) -> dict[str, Any]:
    return {
        name: {
            "value": list(v) if isinstance(v := getattr(facts, name), tuple) else v,
            "source": facts.sources.get(name),
            "verified": facts.verified.get(name, False),
            "known": not is_unknown(facts, name),
        }
        for name in FACT_NAMES
    }


@click.group("providers")
def providers() -> None:
    """Provider facts, the built-in catalogue, and the kill switch (cut / restore)."""


_LIST_COLUMNS = (
    ("country", "operator_country"),
    ("processing", "processing_locations"),
    ("parent", "parent_jurisdiction"),
    ("ZDR", "zero_data_retention"),
    ("trains", "trains_on_customer_data"),
)


def _list_table(cfg: GatewayConfig, resolved: dict[str, ResolvedFacts], cuts: CutSet) -> Table:
    table = Table(title="Providers (* = unverified, ? = unknown)")
    for col in (
        "provider",
        "kind",
        "catalogue",
        "self-hosted",
        *(c for c, _ in _LIST_COLUMNS),
        "laws",
        "cut",
    ):
        table.add_column(col)
    for name, facts in resolved.items():
        table.add_row(
            name,
            cfg.providers[name].kind,
            facts.catalogue or "-",
            _show(facts.self_hosted),
            *(_cell(facts, field) for _, field in _LIST_COLUMNS),
            _show(effective_laws(facts)),
            cuts.match(name, facts) or "-",
        )
    return table


@providers.command("list")
@config_option
@json_option
@one_line_errors
def list_cmd(config_path: Path | None, as_json: bool) -> None:
    """Configured providers with their resolved facts and whether a cut applies."""
    cfg = load(config_path)
    resolved = resolve_all(cfg)
    cuts = CutSet(load_cuts(store(cfg)))
    if as_json:
        rows = [
            {
                "provider": name,
                "kind": cfg.providers[name].kind,
                "catalogue": facts.catalogue,
                "self_hosted": facts.self_hosted,
                "cut": cuts.match(name, facts),
                "effective_laws": list(effective_laws(facts)),
                "facts": _facts_json(facts),
            }
            for name, facts in resolved.items()
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    Console().print(_list_table(cfg, resolved, cuts))


def _entry_json(entry: CatalogueEntry) -> dict[str, Any]:
    facts = {
        name: {
            "value": list(f.value) if isinstance(f.value, tuple) else f.value,
            "source": f.source,
            "verified": f.verified,
        }
        for name, f in entry.facts.items()
    }
    return {"name": entry.name, "title": entry.title, "notes": entry.notes, "facts": facts}


def _catalogue_cell(entry: CatalogueEntry, key: str) -> str:
    fact = entry.facts[key]
    if fact.value is None and key != "parent_jurisdiction":
        return "?"
    return _show(fact.value) + ("" if fact.verified else "*")


@providers.command("catalogue")
@json_option
def catalogue_cmd(as_json: bool) -> None:
    """The built-in catalogue of well-known providers (name it with 'catalogue:' in config)."""
    entries = list_catalogue()
    if as_json:
        click.echo(json.dumps([_entry_json(e) for e in entries], indent=2))
        return
    table = Table(title="Built-in catalogue (* = unverified, ? = unknown)")
    table.add_column("name", no_wrap=True)
    for col in ("country", "processing", "parent", "laws", "ZDR", "trains", "title"):
        table.add_column(col)
    keys = (
        "operator_country",
        "processing_locations",
        "parent_jurisdiction",
        "foreign_access_laws",
        "zero_data_retention",
        "trains_on_customer_data",
    )
    for e in entries:
        table.add_row(e.name, *(_catalogue_cell(e, k) for k in keys), e.title)
    Console().print(table)


def _target(cfg: GatewayConfig, target: str) -> tuple[str, str]:
    try:
        return classify_target(target, cfg.providers)
    except InvalidCutTarget as exc:
        raise click.ClickException(f"TARGET: {exc}") from None


def _affected(cfg: GatewayConfig, target: str) -> list[str]:
    cut = CutSet([target])
    return [name for name, facts in resolve_all(cfg).items() if cut.match(name, facts) is not None]


@providers.command("cut")
@click.argument("target")
@click.option("--reason", default=None, help="Why (recorded with the cut).")
@config_option
@one_line_errors
def cut_cmd(target: str, reason: str | None, config_path: Path | None) -> None:
    """Cut off a provider, a country (ISO code, e.g. CN) or a law (e.g. US-CLOUD-Act).

    Running gateways on the same store pick the cut up within seconds; it survives restarts.
    """
    cfg = load(config_path)
    kind, canonical = _target(cfg, target)
    add_cut(store(cfg), canonical, reason)
    affected = ", ".join(_affected(cfg, canonical)) or "no configured provider"
    click.echo(f"cut {canonical} ({kind}); affects: {affected}")


@providers.command("restore")
@click.argument("target")
@config_option
@one_line_errors
def restore_cmd(target: str, config_path: Path | None) -> None:
    """Lift a cut made with 'lockgate providers cut'."""
    cfg = load(config_path)
    engine = store(cfg)
    existing = load_cuts(engine)
    canonical = target if target in existing else _target(cfg, target)[1]
    if not remove_cut(engine, canonical):
        listed = ", ".join(sorted(existing)) or "none"
        raise click.ClickException(f"TARGET: no cut on {canonical!r} (current cuts: {listed})")
    click.echo(f"restored {canonical}")


@providers.command("cuts")
@config_option
@json_option
@one_line_errors
def cuts_cmd(config_path: Path | None, as_json: bool) -> None:
    """List the cuts in force."""
    cfg = load(config_path)
    records = list_cuts(store(cfg))
    if as_json:
        rows = [{"target": r.target, "reason": r.reason, "created_at": r.created_at} for r in records]
        click.echo(json.dumps(rows, indent=2))
        return
    if not records:
        click.echo("no cuts in force")
        return
    table = Table(title="Cuts in force")
    for col in ("target", "since (UTC)", "reason"):
        table.add_column(col)
    for r in records:
        since = datetime.fromtimestamp(r.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(r.target, since, r.reason or "-")
    Console().print(table)
