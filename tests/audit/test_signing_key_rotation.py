"""Rotating the audit signing key, as docs/operations.md describes it.

Checkpoints carry the key id that signed them, and ``lockgate audit verify --public-key`` takes
several keys, so a chain signed first with one key and then with another verifies when both
public keys are pinned.  Without ``--public-key`` only the current local key is trusted: the
older checkpoints then fail, and so does ``lockgate audit prune`` (which verifies first).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from lockgate.audit.signing import DEFAULT_KEY_FILE
from lockgate.audit.testing import sample_record
from lockgate.audit.writer import build_audit_sink
from lockgate.cli import cli
from lockgate.config.loader import load_config
from lockgate.storage.db import open_store

BEFORE, AFTER = 12, 8


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


async def write(config: Path, first: int, count: int) -> None:
    cfg = load_config(config)
    engine = open_store(cfg.storage_url())
    sink = build_audit_sink(cfg, engine)
    await sink.start()
    for i in range(first, first + count):
        sink.submit(sample_record(i))
    await sink.close()
    engine.dispose()


def pubkey(config: Path, out: Path) -> Path:
    result = run("audit", "pubkey", "-c", str(config))
    assert result.exit_code == 0
    out.write_text(result.stdout)
    return out


def verify(config: Path, *keys: Path) -> tuple[int, dict[str, Any]]:
    args = ["audit", "verify", "-c", str(config), "--json"]
    for key in keys:
        args += ["--public-key", str(key)]
    result = run(*args)
    return result.exit_code, json.loads(result.stdout)


async def test_a_rotated_chain_verifies_with_both_public_keys(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = tmp_path / "lockgate.yaml"
    config.write_text(f"data_dir: {state}\n")
    await write(config, 1, BEFORE)
    old = pubkey(config, tmp_path / "old.pem")

    # rotate: the old private key goes away; the next writer creates (or is given) a new one
    (state / DEFAULT_KEY_FILE).unlink()
    await write(config, BEFORE + 1, AFTER)
    new = pubkey(config, tmp_path / "new.pem")
    assert old.read_text() != new.read_text()

    code, report = verify(config)  # only the current local key is trusted
    assert code == 1
    first = report["chains"][0]["first_problem"]
    assert first["kind"] == "forged_checkpoint" and first["seq"] <= BEFORE

    code, report = verify(config, new)
    assert code == 1 and report["chains"][0]["first_problem"]["kind"] == "forged_checkpoint"

    code, report = verify(config, old, new)
    assert code == 0, report
    chain = report["chains"][0]
    assert chain["records"] == chain["last_signed_seq"] == BEFORE + AFTER
    assert len(report["trusted_keys"]) == 2

    # prune verifies with the local key only, so it refuses a rotated chain without --force
    refused = CliRunner().invoke(cli, ["audit", "prune", "-c", str(config)])
    assert refused.exit_code == 1
    assert "refusing to prune" in refused.output and "forged_checkpoint" in refused.output
