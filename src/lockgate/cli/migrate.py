"""``lockgate migrate``: bring the store's schema to this version before a rollout, or check it.

Every instance migrates the store as it starts (serialised by a lock on PostgreSQL); this
command does the same step on its own, so a deployment can run it once (a Kubernetes Job, an
init container, a CI step) and learn the outcome from the exit status: ``--check`` changes
nothing and exits 1 when revisions are pending.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from lockgate.cli.common import config_option, load, one_line_errors
from lockgate.storage.db import make_engine, schema_state
from lockgate.storage.db import migrate as run_migrations


@click.command()
@config_option
@click.option(
    "--check", is_flag=True, help="Change nothing; exit 1 when the store is not at this version's schema."
)
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object: current, head, pending (and migrated)."
)
@one_line_errors
def migrate(config_path: Path | None, check: bool, as_json: bool) -> None:
    """Migrate the store (storage.url) to this lockgate's newest schema revision."""
    cfg = load(config_path)
    engine = make_engine(cfg.storage_url())
    where = engine.url.render_as_string(hide_password=True)
    try:
        state = schema_state(engine) if check else run_migrations(engine)
    finally:
        engine.dispose()
    found = state.current or "empty"
    if as_json:
        report = {"store": where, "current": state.current, "head": state.head, "pending": list(state.pending),
                  "migrated": not check and bool(state.pending)}  # fmt: skip
        click.echo(json.dumps(report))
        if check and state.pending:
            sys.exit(1)
    elif check and state.pending:
        raise click.ClickException(
            f"{where}: schema {found}, this version's is {state.head}: {len(state.pending)} revision(s) to "
            f"apply ({', '.join(state.pending)}); run 'lockgate migrate'"
        )
    elif state.pending:
        click.echo(f"{where}: migrated {found} → {state.head} ({', '.join(state.pending)})")
    else:
        click.echo(f"{where}: schema at {state.head} already; nothing to apply")
