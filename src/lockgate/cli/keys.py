"""``lockgate keys create|list|revoke``: API keys, stored only as hashes."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from lockgate.auth.keys import create_key, list_keys, revoke_key
from lockgate.cli.common import config_option, load, store


@click.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="An admin key (admin API, all models).")
@click.option("--team", default=None, help="Team for budgets, limits and usage reports.")
@click.option("--models", default=None, help="Comma-separated aliases this key may use (default: all).")
@click.option("--policy", default=None, help="Routing policy for this key (e.g. eu-sovereign).")
@click.option("--pii-policy", default=None, help="Policy applied when a request carries personal data.")
@config_option
def create(
    name: str, admin: bool, team: str | None, models: str | None, policy: str | None, pii_policy: str | None,
    config_path: Path | None,
) -> None:  # fmt: skip
    """Create a key. The secret is printed once and never stored."""
    cfg = load(config_path)
    from lockgate.sovereignty.cuts import CutSet
    from lockgate.sovereignty.policy import PolicyEngine

    engine = PolicyEngine(cfg, CutSet())
    for field, value in (("--policy", policy), ("--pii-policy", pii_policy)):
        if value is not None:
            try:
                engine.check_names([value])
            except Exception:
                raise click.BadParameter(f"unknown policy {value!r}", param_hint=field) from None
    aliases = [m.strip() for m in models.split(",") if m.strip()] if models else None
    unknown = [a for a in aliases or [] if a not in cfg.models]
    if unknown:
        raise click.BadParameter(f"unknown model alias(es): {', '.join(unknown)}", param_hint="--models")
    key_id, secret = create_key(
        store(cfg), name, admin=admin, team=team, models=aliases, policy=policy, pii_policy=pii_policy
    )
    click.echo(f"created key {key_id} ({'admin' if admin else 'client'}) for {name!r}; store this secret now, "
               "it is not shown again:", err=True)  # fmt: skip
    click.echo(secret)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
@config_option
def list_(as_json: bool, include_revoked: bool, config_path: Path | None) -> None:
    """List keys (never their secrets)."""
    rows = list_keys(store(load(config_path)), include_revoked)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table("id", "name", "prefix", "admin", "team", "models", "policy", "revoked")
    for r in rows:
        table.add_row(
            r["id"], r["name"], r["prefix"] + "…", "yes" if r["is_admin"] else "", r["team"] or "",
            ",".join(r["allowed_models"] or []) or "all", r["policy"] or "", "yes" if r["revoked_at"] else "",
        )  # fmt: skip
    Console().print(table)


@keys.command("revoke")
@click.argument("key_id")
@config_option
def revoke(key_id: str, config_path: Path | None) -> None:
    """Revoke a key by id; running gateways stop accepting it within auth.reload_interval."""
    if not revoke_key(store(load(config_path)), key_id):
        raise click.ClickException(f"KEY_ID: no active key with id {key_id!r} (see 'lockgate keys list')")
    click.echo(f"revoked {key_id}")
