"""Open the store (SQLite by default, PostgreSQL for several instances) and migrate it.

The database is never touched on the request path: callers use it from CLI commands, from
start-up, and from background tasks through ``asyncio.to_thread``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event

from lockgate.errors import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a store's schema stands against the revisions this lockgate ships."""

    current: str | None  # None: an empty store
    head: str
    pending: tuple[str, ...]  # revisions an upgrade would apply, oldest first


class SchemaTooNew(ConfigError):
    """The store was migrated by a newer lockgate than this one."""


def alembic_scripts() -> tuple[AlembicConfig, ScriptDirectory]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory as Scripts

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg, Scripts.from_config(cfg)


def _state(conn: Connection, scripts: ScriptDirectory) -> SchemaState:
    from alembic.runtime.migration import MigrationContext

    current = MigrationContext.configure(conn).get_current_revision()
    head = scripts.get_current_head()
    assert head is not None, "the shipped migrations have one head"
    known = [r.revision for r in scripts.walk_revisions()]  # newest first
    if current is not None and current not in known:
        where = conn.engine.url.render_as_string(hide_password=True)
        raise SchemaTooNew(
            f"storage: the store at {where} has schema revision {current}, which this lockgate does "
            f"not know (its newest is {head}): a newer lockgate has migrated it. Run that version, or "
            "restore the backup taken before the upgrade (docs/operations.md)."
        )
    pending = known[: known.index(current)] if current is not None else known
    return SchemaState(current, head, tuple(reversed(pending)))


def schema_state(engine: Engine) -> SchemaState:
    """The store's revision, the newest this lockgate knows, and what an upgrade would apply."""
    _, scripts = alembic_scripts()
    with engine.connect() as conn:
        return _state(conn, scripts)


def migrate(engine: Engine) -> SchemaState:
    """Bring the schema to the newest revision (idempotent, safe for concurrent instances);
    returns the state found before.  ``SchemaTooNew`` when a newer lockgate migrated it."""
    from alembic import command  # only processes that migrate pay for importing alembic

    cfg, scripts = alembic_scripts()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # serialise concurrent gateway start-ups migrating one shared store
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242424242)")
        before = _state(conn, scripts)
        if before.pending:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return before


def open_store(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine
