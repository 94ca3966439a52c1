"""``lockgate migrate``: the store brought to this version's schema, or checked, with exit
statuses a deployment can act on; a store a newer lockgate migrated is a one-line error for every
command that opens it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from alembic import command
from click.testing import CliRunner, Result

from lockgate.cli import cli
from lockgate.storage.db import alembic_scripts, make_engine, schema_state


def setup(tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "s.db"
    cfg = tmp_path / "lockgate.yaml"
    cfg.write_text(f"data_dir: {tmp_path / 'state'}\nstorage:\n  url: sqlite:///{db}\n")
    return cfg, db


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def revision(db: Path) -> str | None:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return rows[0][0] if rows else None


def at_revision(db: Path, rev: str) -> None:
    cfg, _ = alembic_scripts()
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, rev)
    engine.dispose()


def test_an_empty_store_is_migrated_then_checks_clean(tmp_path: Path) -> None:
    cfg, db = setup(tmp_path)
    head = schema_state(make_engine(f"sqlite:///{tmp_path / 'other.db'}")).head
    done = run("migrate", "-c", str(cfg))
    assert done.exit_code == 0, done.output
    assert f"migrated empty → {head} (0001, " in done.output
    assert revision(db) == head
    again = run("migrate", "-c", str(cfg))
    assert again.exit_code == 0 and f"schema at {head} already; nothing to apply" in again.output
    check = run("migrate", "-c", str(cfg), "--check", "--json")
    assert check.exit_code == 0, check.output
    assert json.loads(check.output) == {
        "store": f"sqlite:///{db}", "current": head, "head": head, "pending": [], "migrated": False
    }  # fmt: skip


def test_check_names_the_pending_revisions_exits_1_and_changes_nothing(tmp_path: Path) -> None:
    cfg, db = setup(tmp_path)
    at_revision(db, "0005")
    state = schema_state(make_engine(f"sqlite:///{db}"))
    assert state.current == "0005" and state.pending and state.pending[0] == "0006"
    as_json = run("migrate", "-c", str(cfg), "--check", "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.output)["pending"] == list(state.pending)
    check = run("migrate", "-c", str(cfg), "--check")
    assert check.exit_code == 1
    line = check.output.strip()
    assert "\n" not in line and line.startswith("Error: ")
    assert f"schema 0005, this version's is {state.head}" in line and "run 'lockgate migrate'" in line
    assert ", ".join(state.pending) in line
    assert revision(db) == "0005"  # --check never migrates
    done = run("migrate", "-c", str(cfg), "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert (report["current"], report["pending"], report["migrated"]) == ("0005", list(state.pending), True)
    assert revision(db) == state.head


def test_a_store_a_newer_lockgate_migrated_is_a_one_line_error_everywhere(tmp_path: Path) -> None:
    cfg, db = setup(tmp_path)
    assert run("migrate", "-c", str(cfg)).exit_code == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    for args in (["migrate"], ["migrate", "--check"], ["keys", "list"]):
        result = run(*args, "-c", str(cfg))
        assert result.exit_code == 1, (args, result.output)
        line = result.output.strip()
        assert "\n" not in line and "Traceback" not in line, (args, result.output)
        assert "schema revision 0099" in line and "a newer lockgate has migrated it" in line, args
    assert revision(db) == "0099"  # nothing was touched


def test_a_config_error_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "lockgate.yaml"
    bad.write_text("storage:\n  url: 12\n  nonsense: true\n")
    result = run("migrate", "-c", str(bad))
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "storage" in result.output
