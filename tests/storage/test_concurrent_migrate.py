"""Several instances migrating one fresh PostgreSQL store at once (docs/operations.md, upgrades).

``migrate`` takes a PostgreSQL advisory lock in the migration's transaction, so instances that
start together run the migrations one after the other: the first creates the schema, the
others find it at head and do nothing.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import text

from lockgate.audit.testing import pg_test_url, throwaway_database
from lockgate.storage.db import MIGRATIONS, make_engine, migrate

INSTANCES = 4


def head_revision() -> str:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


@pytest.mark.postgres
def test_instances_starting_together_migrate_once_without_errors() -> None:
    base = pg_test_url()
    if base is None:
        pytest.skip("LOCKGATE_TEST_PG_URL is not set (scripts/pg.sh starts a server)")
    with throwaway_database(base) as url:
        engines = [make_engine(url) for _ in range(INSTANCES)]
        start = threading.Barrier(INSTANCES)

        def instance(index: int) -> None:
            start.wait()
            migrate(engines[index])

        with ThreadPoolExecutor(INSTANCES) as pool:
            for future in [pool.submit(instance, i) for i in range(INSTANCES)]:
                future.result()  # re-raises a failed migration
        with engines[0].connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        for engine in engines:
            engine.dispose()
    assert versions == [head_revision()]
