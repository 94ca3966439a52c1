from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from lockgate.storage.db import MIGRATIONS, open_store

TABLES = {"model_artifacts", "model_artifact_files", "model_acknowledgements"}


def test_registry_tables_upgrade_and_downgrade(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    assert set(inspect(engine).get_table_names()) >= TABLES
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    assert not TABLES & set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()
