"""``lockgate audit``: verify the chain, export records, prune by retention, print the public key."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from lockgate.audit.dates import parse_when
from lockgate.audit.export import FORMATS, iter_records
from lockgate.audit.findings import VerifyReport
from lockgate.audit.prune import MIN_RETENTION_DAYS, PruneRefused, prune_chain
from lockgate.audit.signing import DEFAULT_KEY_FILE, key_id_of, load_public_pem, public_pem
from lockgate.audit.verify import database_keys, verify
from lockgate.audit.writer import cipher_for, signer_for
from lockgate.cli.common import config_option, load, one_line_errors, store
from lockgate.config.schema import GatewayConfig

DAY = 86_400.0


def _when(value: str, option: str, *, end_of_day: bool = False) -> float:
    try:
        return parse_when(value, end_of_day=end_of_day)
    except ValueError:
        raise click.ClickException(
            f"{option}: {value!r} is not a date (use YYYY-MM-DD or an ISO time)"
        ) from None


def _read_public_keys(files: list[tuple[str, Path]]) -> list[Ed25519PublicKey]:
    """Each (the setting or option that names it, the file) read as an Ed25519 public key."""
    keys = []
    for where, path in files:
        try:
            keys.append(load_public_pem(path.expanduser().read_text(encoding="ascii")))
        except OSError as exc:
            raise click.ClickException(f"{where}: cannot read {path} ({exc.strerror})") from None
        except ValueError as exc:  # a UnicodeDecodeError too
            raise click.ClickException(f"{where}: {path} is not an Ed25519 public key in PEM form ({exc})") from None
    return keys


def _pinned_keys(cfg: GatewayConfig, files: tuple[Path, ...]) -> list[Ed25519PublicKey]:
    """Keys to trust: the --public-key files; else the local signing key, if it exists, and
    audit.trusted_keys (the keys of earlier rotations); else none (the database's own)."""
    if files:
        return _read_public_keys([("--public-key", path) for path in files])
    keys = _read_public_keys([(f"audit.trusted_keys[{i}]", p) for i, p in enumerate(cfg.audit.trusted_keys)])
    local = (cfg.audit.signing_key or cfg.state_dir / DEFAULT_KEY_FILE).expanduser()
    if local.exists():
        keys.insert(0, signer_for(cfg).public)
    return list({key_id_of(k): k for k in keys}.values())  # one each, the local key first


def _print_report(report: VerifyReport) -> None:
    if report.key_source == "database":
        click.echo(
            "warning: trusting the public keys stored in the database; pin one with --public-key", err=True
        )
    if not report.chains:
        click.echo("audit log is empty")
    for chain in report.chains:
        head = f"chain {chain.chain_id!r}: {chain.records} records, {chain.checkpoints} checkpoints"
        first = chain.first_problem
        if first is None:
            sealed = f"signed up to seq {chain.last_signed_seq}, {chain.unsealed} after the last checkpoint"
            click.echo(f"{head}, intact ({sealed})")
            continue
        click.echo(f"{head}: NOT intact, {len(chain.problems)} problem(s)")
        click.echo(f"  first: {first.line()}")


@click.group("audit")
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@config_option
@click.option("--public-key", "public_keys", multiple=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@one_line_errors
def verify_cmd(config_path: Path | None, public_keys: tuple[Path, ...], as_json: bool) -> None:
    """Check every hash link and checkpoint signature; exit 1 and name the first broken record."""
    cfg = load(config_path)
    pins = _pinned_keys(cfg, public_keys)
    report = verify(store(cfg), pinned=pins)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_report(report)
    sys.exit(0 if report.ok else 1)


@audit.command("export")
@config_option
@click.option("--from", "date_from", required=True, help="Start date (inclusive), YYYY-MM-DD or ISO time.")
@click.option("--to", "date_to", required=True, help="End date (a bare date includes that whole day).")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="jsonl", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default stdout)."
)
@click.option("--with-content", is_flag=True, help="Decrypt stored bodies (base64) with audit.content_key.")
@one_line_errors
def export_cmd(
    config_path: Path | None, date_from: str, date_to: str, fmt: str, output: Path | None, with_content: bool
) -> None:
    """Write the records of a period as JSON Lines or CSV."""
    cfg = load(config_path)
    start, end = _when(date_from, "--from"), _when(date_to, "--to", end_of_day=True)
    if end <= start:
        raise click.ClickException("--to: must be after --from")
    cipher = cipher_for(cfg) if with_content else None
    if with_content and cipher is None:
        raise click.ClickException("--with-content: set audit.content_key in the config to decrypt bodies")
    records = iter_records(store(cfg), start, end, cipher)
    if output is None:
        count = FORMATS[fmt](records, sys.stdout)
    else:
        with output.open("w", encoding="utf-8", newline="") as out:
            count = FORMATS[fmt](records, out)
    click.echo(f"exported {count} records", err=True)


@audit.command("prune")
@config_option
@click.option(
    "--before", help="Delete records started before this date (default: now - audit.retention_days)."
)
@click.option(
    "--force", is_flag=True, help=f"Allow a retention under {MIN_RETENTION_DAYS} days or a broken chain."
)
@one_line_errors
def prune_cmd(config_path: Path | None, before: str | None, force: bool) -> None:
    """Delete records past retention; a signed anchor keeps the rest verifiable."""
    cfg = load(config_path)
    now = time.time()
    cutoff = _when(before, "--before") if before else now - cfg.audit.retention_days * DAY
    if cutoff > now - MIN_RETENTION_DAYS * DAY and not force:
        raise click.ClickException(
            f"--before: keeps less than {MIN_RETENTION_DAYS} days of records (AI Act Art. 26(6)); "
            "pass --force to override"
        )
    engine = store(cfg)
    keys: dict[str, Ed25519PublicKey] | None = None
    if not force:
        pins = _pinned_keys(cfg, ())
        with engine.connect() as conn:
            keys = {key_id_of(k): k for k in pins} if pins else database_keys(conn)
    try:
        result = prune_chain(engine, cfg.audit.chain_id, cutoff, signer_for(cfg), keys)
    except PruneRefused as exc:
        raise click.ClickException(
            f"audit chain is not intact, refusing to prune ({exc}); --force overrides"
        ) from None
    click.echo(
        f"pruned {result.deleted} records from chain {result.chain_id!r}; anchor at seq {result.anchor_seq}"
    )


@audit.command("pubkey")
@config_option
def pubkey_cmd(config_path: Path | None) -> None:
    """Print the checkpoint-signing public key (PEM), creating the key pair on first use."""
    cfg = load(config_path)
    signer = signer_for(cfg)
    click.echo(f"# key id {signer.key_id}", err=True)
    click.echo(public_pem(signer.public), nl=False)
