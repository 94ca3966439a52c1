"""Backup and restore of the store, as docs/operations.md describes it, checked for real.

A live data_dir is filled through the gateway's own audit writer (``build_audit_sink``: real
batches and ``idle``/``close`` checkpoints) plus an API key; the store is backed up online
(SQLite's backup API while the writer's connections are still open; ``pg_dump``/``pg_restore``
on PostgreSQL), restored into a fresh data_dir next to a copy of the signing key, and
``lockgate audit verify`` must pass there.  A tampered restore, and a restore without the
signing key, must fail verification.
"""

from __future__ import annotations

import glob
import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from lockgate.audit.signing import DEFAULT_KEY_FILE
from lockgate.audit.testing import pg_test_url, sample_record, throwaway_database
from lockgate.audit.writer import build_audit_sink
from lockgate.auth.keys import create_key, load_principals
from lockgate.cli import cli
from lockgate.config.loader import load_config
from lockgate.storage.db import open_store

RECORDS = 25


def write_config(data_dir: Path, url: str | None = None) -> Path:
    """A lockgate.yaml whose state is ``data_dir`` (SQLite there unless ``url`` is given)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    text = f"data_dir: {data_dir}\naudit:\n  checkpoint_every: 10\n"
    if url is not None:
        text += f"storage:\n  url: {url}\n"
    path = data_dir.parent / f"{data_dir.name}.yaml"
    path.write_text(text)
    return path


async def fill_live(config: Path) -> tuple[Engine, str]:
    """Records through the gateway's audit writer and one API key; the engine stays open."""
    cfg = load_config(config)
    engine = open_store(cfg.storage_url())
    sink = build_audit_sink(cfg, engine)
    await sink.start()
    for i in range(1, RECORDS + 1):
        sink.submit(sample_record(i))
    await sink.close()
    key_id, _secret = create_key(engine, "ci-bot", policy="eu-sovereign")
    return engine, key_id


def verify(config: Path, *public_keys: Path) -> tuple[int, dict[str, Any]]:
    args = ["audit", "verify", "-c", str(config), "--json"]
    for key in public_keys:
        args += ["--public-key", str(key)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def assert_intact(config: Path) -> None:
    code, report = verify(config)
    assert code == 0, report
    chain = report["chains"][0]
    assert report["key_source"] == "pinned"  # the restored signing key, not the database's keys
    assert (chain["records"], chain["last_seq"], chain["last_signed_seq"]) == (RECORDS, RECORDS, RECORDS)


def first_problem(config: Path) -> dict[str, Any]:
    code, report = verify(config)
    assert code == 1 and report["ok"] is False
    problem: dict[str, Any] = report["chains"][0]["first_problem"]
    return problem


def restore_key(live: Path, restored: Path) -> None:
    shutil.copy2(live / DEFAULT_KEY_FILE, restored / DEFAULT_KEY_FILE)  # keeps mode 0600


# -- SQLite -----------------------------------------------------------------------------------


def sqlite_backup(db: Path, target: Path) -> None:
    """What ``sqlite3 lockgate.db ".backup FILE"`` does: a consistent copy, WAL included."""
    src, dst = sqlite3.connect(db), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def audit_rows(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])
    except sqlite3.OperationalError:  # the copy does not even have the table
        return 0
    finally:
        conn.close()


@pytest.fixture
async def live_sqlite(tmp_path: Path) -> tuple[Path, Path, str]:
    live = tmp_path / "live"
    config = write_config(live)
    engine, key_id = await fill_live(config)
    backup = tmp_path / "backup" / "lockgate.db"
    backup.parent.mkdir()
    # online: the writer's pooled connections are still open, the commits still sit in the WAL
    assert (live / "lockgate.db-wal").stat().st_size > 0
    sqlite_backup(live / "lockgate.db", backup)
    plain_copy = tmp_path / "plain-copy.db"
    shutil.copyfile(live / "lockgate.db", plain_copy)
    assert audit_rows(plain_copy) < RECORDS  # copying lockgate.db alone misses the WAL
    engine.dispose()
    return live, backup, key_id


def restore_sqlite(tmp_path: Path, backup: Path, name: str = "restored") -> tuple[Path, Path]:
    restored = tmp_path / name
    config = write_config(restored)
    shutil.copyfile(backup, restored / "lockgate.db")
    return restored, config


def test_sqlite_backup_restores_a_chain_that_verifies(
    tmp_path: Path, live_sqlite: tuple[Path, Path, str]
) -> None:
    live, backup, key_id = live_sqlite
    restored, config = restore_sqlite(tmp_path, backup)
    restore_key(live, restored)
    assert_intact(config)
    engine = open_store(load_config(config).storage_url())
    assert key_id in {p.id for p in load_principals(engine).values()}  # API keys come along
    engine.dispose()


def test_sqlite_tampered_restore_fails_verification(
    tmp_path: Path, live_sqlite: tuple[Path, Path, str]
) -> None:
    live, backup, _ = live_sqlite
    altered, altered_cfg = restore_sqlite(tmp_path, backup, "altered")
    restore_key(live, altered)
    with sqlite3.connect(altered / "lockgate.db") as conn:
        conn.execute("UPDATE audit_log SET model_alias = 'other' WHERE seq = 7")
    problem = first_problem(altered_cfg)
    assert (problem["kind"], problem["seq"]) == ("altered", 7)

    cut, cut_cfg = restore_sqlite(tmp_path, backup, "truncated")
    restore_key(live, cut)
    with sqlite3.connect(cut / "lockgate.db") as conn:
        conn.execute("DELETE FROM audit_log WHERE seq > ?", (RECORDS - 3,))
    problem = first_problem(cut_cfg)
    assert (problem["kind"], problem["seq"]) == ("truncated", RECORDS - 2)


def test_sqlite_restore_without_the_signing_key(tmp_path: Path, live_sqlite: tuple[Path, Path, str]) -> None:
    live, backup, _ = live_sqlite
    restored, config = restore_sqlite(tmp_path, backup)
    # no key file: verify falls back to the keys stored in the database, and says so
    code, report = verify(config)
    assert code == 0 and report["key_source"] == "database"
    # a gateway (or `audit pubkey`) started there creates a new key, which did not sign the chain
    made = CliRunner().invoke(cli, ["audit", "pubkey", "-c", str(config)], catch_exceptions=False)
    assert made.exit_code == 0 and (restored / DEFAULT_KEY_FILE).exists()
    assert first_problem(config)["kind"] == "forged_checkpoint"
    # the old public key, kept elsewhere, still proves the restored chain
    old = tmp_path / "old.pem"
    old_pub = CliRunner().invoke(cli, ["audit", "pubkey", "-c", str(write_config(live))])
    old.write_text(old_pub.stdout)
    code, report = verify(config, old)
    assert code == 0 and report["key_source"] == "pinned"


# -- PostgreSQL -------------------------------------------------------------------------------


def pg_tool(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    return found[-1] or None


def major(version_text: str) -> int:
    match = re.search(r"(\d+)(?:\.\d+)?", version_text)
    assert match is not None, version_text
    return int(match.group(1))


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def run_tool(*argv: str) -> None:
    """pg_dump / pg_restore (the test's own blocking step, outside the event loop's work)."""
    subprocess.run(argv, check=True)


def pg_tools_or_skip(engine: Engine) -> tuple[str, str]:
    dump, restore = pg_tool("pg_dump"), pg_tool("pg_restore")
    if dump is None or restore is None:
        pytest.skip("pg_dump/pg_restore not installed (Debian's postgresql-client package)")
    with engine.connect() as conn:
        server = major(str(conn.exec_driver_sql("SHOW server_version").scalar()))
    client = major(subprocess.run([dump, "--version"], capture_output=True, text=True, check=True).stdout)
    if client < server:
        pytest.skip(f"pg_dump {client} cannot dump a PostgreSQL {server} server (needs >= {server})")
    return dump, restore


@pytest.mark.postgres
async def test_postgres_dump_restore_verifies_and_tampering_fails(tmp_path: Path) -> None:
    base = pg_test_url()
    if base is None:
        pytest.skip("LOCKGATE_TEST_PG_URL is not set (scripts/pg.sh starts a server)")
    live = tmp_path / "live"
    dump_file = tmp_path / "lockgate.dump"
    with throwaway_database(base) as live_url:
        engine, key_id = await fill_live(write_config(live, live_url))
        dump, restore = pg_tools_or_skip(engine)
        engine.dispose()
        run_tool(dump, "-Fc", "-f", str(dump_file), libpq_url(live_url))
    with throwaway_database(base) as new_url:
        run_tool(restore, "--no-owner", "--exit-on-error", "-d", libpq_url(new_url), str(dump_file))
        restored = tmp_path / "restored"
        config = write_config(restored, new_url)
        restore_key(live, restored)
        assert_intact(config)
        engine = open_store(new_url)
        assert key_id in {p.id for p in load_principals(engine).values()}
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE audit_log SET prompt_tokens = prompt_tokens + 1 WHERE seq = 3")
        engine.dispose()
        problem = first_problem(config)
        assert (problem["kind"], problem["seq"]) == ("altered", 3)
