"""``lockgate usage`` prints what the audit log holds: rich table, JSON, CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner, Result

from lockgate.audit.signing import load_or_create_key
from lockgate.audit.testing import fill_chain, sample_record
from lockgate.cli.usage import usage
from lockgate.storage.db import open_store

JAN1 = 1_767_225_600.0


def setup(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'u.db'}"
    cfg = tmp_path / "lockgate.yaml"
    cfg.write_text(f"data_dir: {tmp_path / 'state'}\nstorage:\n  url: {url}\n")
    engine = open_store(url)
    records = [
        sample_record(1, started_at=JAN1 + 10, team="alpha", prompt_tokens=11, completion_tokens=4, cost=0.5),
        sample_record(2, started_at=JAN1 + 20, team="alpha", prompt_tokens=9, completion_tokens=6, cost=0.25),
        sample_record(3, started_at=JAN1 + 86_400 * 40, team="beta", prompt_tokens=3, completion_tokens=2,
                      cost=1.0, status=500, error_type="upstream_error"),
    ]  # fmt: skip
    fill_chain(engine, load_or_create_key(tmp_path / "k"), records)
    engine.dispose()
    return cfg


def run(*args: str) -> Result:
    return CliRunner().invoke(usage, list(args), catch_exceptions=False)


def test_json_by_team_per_month(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    result = run("-c", str(cfg), "--by", "team", "--period", "month", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows == [
        {"period": "2026-01", "group": "alpha", "currency": "EUR", "requests": 2, "prompt_tokens": 20,
         "completion_tokens": 10, "cached_tokens": 0, "cost": 0.75, "errors": 0},
        {"period": "2026-02", "group": "beta", "currency": "EUR", "requests": 1, "prompt_tokens": 3,
         "completion_tokens": 2, "cached_tokens": 0, "cost": 1.0, "errors": 1},
    ]  # fmt: skip


def test_csv_and_since(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    result = run("-c", str(cfg), "--by", "model", "--since", "2026-01-15", "--csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["period"], r["group"], r["requests"], r["errors"]) for r in rows] == [
        ("2026-02-10", "smollm2", "1", "1")
    ]


def test_table_is_default(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    result = run("-c", str(cfg), "--by", "team")
    assert result.exit_code == 0
    assert "usage by team" in result.stdout and "alpha" in result.stdout and "beta" in result.stdout
    assert "0.750000" in result.stdout and "1.000000" in result.stdout  # alpha's two requests summed


def test_bad_arguments(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    assert "--since: 'last week' is not a date" in run("-c", str(cfg), "--since", "last week").output
    assert run("-c", str(cfg), "--by", "colour").exit_code == 2
