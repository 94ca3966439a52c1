"""``lockgate audit verify|export|prune|pubkey`` on a real store (SQLite; PostgreSQL too for verify)."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete, func, select, update

from lockgate.audit.signing import load_or_create_key, public_pem
from lockgate.audit.tables import audit_log
from lockgate.audit.testing import fill_chain, sample_record
from lockgate.cli.audit import audit
from lockgate.storage.db import open_store

DAY = 86_400.0


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "lockgate.yaml"
    path.write_text(f"data_dir: {tmp_path / 'state'}\nstorage:\n  url: {url}\n")
    return path


def filled(tmp_path: Path, url: str, n: int = 30, start: float = 1_767_225_600.0) -> Path:
    cfg = config(tmp_path, url)
    signer = load_or_create_key(tmp_path / "state" / "audit-signing.key")
    engine = open_store(url)
    fill_chain(engine, signer, [sample_record(i, started_at=start + i * 3600) for i in range(1, n + 1)])
    engine.dispose()
    return cfg


def run(*args: str) -> Result:
    return CliRunner().invoke(audit, list(args), catch_exceptions=False)


def test_verify_intact_and_tampered(tmp_path: Path, store_url: str) -> None:
    cfg = filled(tmp_path, store_url)
    ok = run("verify", "-c", str(cfg))
    assert ok.exit_code == 0, ok.output
    assert "30 records" in ok.stdout and "intact" in ok.stdout
    engine = open_store(store_url)
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 12).values(model_alias="other"))
    engine.dispose()
    bad = run("verify", "-c", str(cfg))
    assert bad.exit_code == 1
    assert "NOT intact" in bad.stdout and "seq 12 (request req-000012): altered" in bad.stdout
    as_json = json.loads(run("verify", "-c", str(cfg), "--json").stdout)
    assert as_json["ok"] is False and as_json["key_source"] == "pinned"
    assert as_json["chains"][0]["first_problem"]["seq"] == 12


def test_verify_with_a_foreign_public_key_fails(tmp_path: Path, sqlite_url: str) -> None:
    cfg = filled(tmp_path, sqlite_url)
    other = tmp_path / "other.pem"
    other.write_text(public_pem(load_or_create_key(tmp_path / "other.key").public))
    result = run("verify", "-c", str(cfg), "--public-key", str(other))
    assert result.exit_code == 1 and "forged_checkpoint" in result.stdout


def test_verify_without_local_key_trusts_database_with_warning(tmp_path: Path, sqlite_url: str) -> None:
    cfg = filled(tmp_path, sqlite_url)
    (tmp_path / "state" / "audit-signing.key").unlink()
    result = run("verify", "-c", str(cfg))
    assert result.exit_code == 0 and "trusting the public keys stored in the database" in result.output


def test_export_jsonl_and_csv(tmp_path: Path, sqlite_url: str) -> None:
    cfg = filled(tmp_path, sqlite_url)  # one record per hour from 2026-01-01T01:00Z
    out = tmp_path / "day.jsonl"
    result = run("export", "-c", str(cfg), "--from", "2026-01-01", "--to", "2026-01-01", "-o", str(out))
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 23 and json.loads(lines[0])["request_id"] == "req-000001"
    csv_out = run("export", "-c", str(cfg), "--from", "2026-01-02", "--to", "2026-01-03", "--format", "csv")
    assert csv_out.stdout.splitlines()[0].startswith("chain_id,seq,request_id")
    assert len(csv_out.stdout.splitlines()) == 1 + 7


def test_export_errors_are_one_line(tmp_path: Path, sqlite_url: str) -> None:
    cfg = filled(tmp_path, sqlite_url, n=2)
    bad = run("export", "-c", str(cfg), "--from", "soon", "--to", "2026-01-01")
    assert bad.exit_code != 0 and "--from: 'soon' is not a date" in bad.output
    backwards = run("export", "-c", str(cfg), "--from", "2026-02-01", "--to", "2026-01-01")
    assert "--to: must be after --from" in backwards.output
    no_key = run("export", "-c", str(cfg), "--from", "2026-01-01", "--to", "2026-01-02", "--with-content")
    assert "--with-content: set audit.content_key" in no_key.output


def test_prune_honours_retention(tmp_path: Path, sqlite_url: str) -> None:
    now = time.time()
    cfg = filled(tmp_path, sqlite_url, n=10, start=now - 200 * DAY)  # hourly, all older than 190 days
    engine = open_store(sqlite_url)
    fill_chain(
        engine,
        load_or_create_key(tmp_path / "state" / "audit-signing.key"),
        [sample_record(100 + i, started_at=now - i) for i in range(5)],
    )
    too_recent = run(
        "prune", "-c", str(cfg), "--before", time.strftime("%Y-%m-%d", time.gmtime(now - 30 * DAY))
    )
    assert too_recent.exit_code != 0 and "less than 183 days" in too_recent.output
    result = run("prune", "-c", str(cfg))
    assert result.exit_code == 0, result.output
    assert "pruned 10 records" in result.output and "anchor at seq 10" in result.output
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 5
    assert run("verify", "-c", str(cfg)).exit_code == 0
    forced = run("prune", "-c", str(cfg), "--before", "2999-01-01", "--force")
    assert forced.exit_code == 0 and "pruned 5 records" in forced.output
    engine.dispose()


def test_prune_refuses_a_broken_chain(tmp_path: Path, sqlite_url: str) -> None:
    cfg = filled(tmp_path, sqlite_url, n=10, start=time.time() - 300 * DAY)
    engine = open_store(sqlite_url)
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 4))
    engine.dispose()
    result = run("prune", "-c", str(cfg))
    assert result.exit_code != 0 and "refusing to prune" in result.output and "seq 4" in result.output


def test_pubkey_creates_and_prints_the_key(tmp_path: Path, sqlite_url: str) -> None:
    cfg = config(tmp_path, sqlite_url)
    result = run("pubkey", "-c", str(cfg))
    assert result.exit_code == 0
    assert result.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    key_file = tmp_path / "state" / "audit-signing.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert run("pubkey", "-c", str(cfg)).stdout == result.stdout
