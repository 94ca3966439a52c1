"""Rotating the audit signing key, as docs/operations.md describes it.

Checkpoints carry the key id that signed them, and ``lockgate audit verify --public-key`` takes
several keys, so a chain signed first with one key and then with another verifies when both
public keys are pinned.  Without ``--public-key`` the current local key and ``audit.trusted_keys``
are trusted: with neither holding the old key the older checkpoints fail, and so does
``lockgate audit prune`` (which verifies first).
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


async def rotated_chain(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A chain of BEFORE records signed by one key, then AFTER by another: the config and the
    old and new public keys."""
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
    return config, old, new


async def test_a_rotated_chain_verifies_with_both_public_keys(tmp_path: Path) -> None:
    config, old, new = await rotated_chain(tmp_path)

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


async def test_audit_trusted_keys_carry_a_rotation_for_verify_and_prune(tmp_path: Path) -> None:
    """With the old public key in audit.trusted_keys, a plain verify passes and prune needs no
    --force; --public-key still replaces every configured key."""
    config, old, new = await rotated_chain(tmp_path)
    config.write_text(f"data_dir: {tmp_path / 'state'}\naudit:\n  trusted_keys: [{old}, {new}]\n")
    code, report = verify(config)
    assert code == 0, report
    assert len(report["trusted_keys"]) == 2  # the local key and new.pem are one key
    code, report = verify(config, new)  # an explicit pin replaces the configured keys
    assert code == 1 and report["chains"][0]["first_problem"]["kind"] == "forged_checkpoint"

    pruned = CliRunner().invoke(cli, ["audit", "prune", "-c", str(config), "--before", "2000-01-01"])
    assert pruned.exit_code == 0, pruned.output
    assert "pruned 0 records" in pruned.output


def test_a_trusted_key_that_cannot_be_used_is_a_one_line_error_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "lockgate.yaml"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")
    for listed, expected in ((tmp_path / "missing.pem", "cannot read"), (garbage, "not an Ed25519 public key")):
        config.write_text(f"data_dir: {tmp_path / 'state'}\naudit:\n  trusted_keys: [{listed}]\n")
        result = CliRunner().invoke(cli, ["audit", "verify", "-c", str(config)])
        assert result.exit_code == 1
        line = result.output.strip()
        assert "\n" not in line and line.startswith("Error: audit.trusted_keys[0]: ") and expected in line, line
