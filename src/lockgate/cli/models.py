"""``lockgate models``: the registry of served weights, its scanner, licence register and ML-BOM."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lockgate.cli.common import config_option, load, store
from lockgate.registry.errors import RegistryError

F = TypeVar("F", bound=Callable[..., Any])


def _registry_errors(fn: F) -> F:
    """Registry errors become one-line CLI errors naming the fix."""
    from functools import wraps

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RegistryError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _row(table: Table, *values: object) -> None:
    """Add a row of plain text: names, reasons and templates may contain [brackets] rich would eat."""
    table.add_row(*(Text(str(v)) for v in values))


def _write_or_echo(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text)
        return
    output.write_text(text + "\n", encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


def _size(n: int | None) -> str:
    """1234567 -> 1.2M (parameter counts and byte sizes)."""
    if n is None:
        return "-"
    value, units = float(n), ["", "K", "M", "G", "T"]
    while value >= 1000 and len(units) > 1:
        value, units = value / 1000, units[1:]
    return f"{value:.1f}{units[0]}" if units[0] else f"{value:.0f}"


@click.group()
def models() -> None:
    """Register, verify, scan and license the model weights lockgate serves."""


@models.command("add")
@click.argument("target")
@click.option("--name", default=None, help="Name to register under (default: from the model's metadata).")
@click.option("--licence", "licence", default=None, help="SPDX id or LicenseRef (skips checkpoint guessing).")
@click.option(
    "--checkpoint", default=None, help="Licence-register checkpoint id (see `lockgate models licence`)."
)
@click.option("--publisher", default=None, help="Who published the weights.")
@click.option("--publisher-country", default=None, help="ISO country of the publisher's seat.")
@click.option("--source-url", default=None, help="Where the weights were obtained.")
@click.option("--base-model", default=None, help="Base model of a fine-tune or distill.")
@click.option(
    "--public-key",
    "public_keys",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="PEM key to verify a model-signing signature (repeatable; adds to the config's keys).",
)
@config_option
@_registry_errors
def add_cmd(
    target: str, name: str | None, licence: str | None, checkpoint: str | None, publisher: str | None,
    publisher_country: str | None, source_url: str | None, base_model: str | None,
    public_keys: tuple[Path, ...], config_path: Path | None,
) -> None:  # fmt: skip
    """Register TARGET (a model file, folder or installed Python package) with pinned hashes."""
    from lockgate.registry.artifacts import AddOptions, add

    cfg = load(config_path)
    opts = AddOptions(
        name=name,
        licence=licence,
        checkpoint=checkpoint,
        publisher=publisher,
        publisher_country=publisher_country,
        source_url=source_url,
        base_model=base_model,
        public_keys=[*cfg.registry.signing_public_keys, *public_keys],
        certificates=list(cfg.registry.signing_certificates),
    )
    art = add(store(cfg), target, opts)
    click.echo(
        f"registered {art.id} {art.name!r}: {len(art.files)} file(s), format {art.format}, "
        f"licence {art.licence_id or 'unknown'}, scan {art.scan_status}, signature {art.signature_status}"
    )
    if art.scan_status == "blocking":
        click.echo(
            f"warning: the scan found blocking findings; see `lockgate models show {art.id}`", err=True
        )


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
def list_cmd(as_json: bool, config_path: Path | None) -> None:
    """List registered artifacts."""
    from lockgate.registry.artifacts import list_artifacts

    arts = list_artifacts(store(load(config_path)))
    if as_json:
        _echo_json([{k: v for k, v in a.to_json().items() if k != "chat_template"} for a in arts])
        return
    table = Table("id", "name", "format", "arch", "params", "quant", "licence", "scan", "signature")
    for a in arts:
        _row(table, a.id, a.name, a.format, a.architecture or "-", _size(a.parameter_count),
                      a.quantization or "-", a.licence_id or "unknown", a.scan_status,
                      a.signature_status)  # fmt: skip
    Console().print(table)


@models.command("show")
@click.argument("artifact")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
@_registry_errors
def show_cmd(artifact: str, as_json: bool, config_path: Path | None) -> None:
    """Everything recorded about ARTIFACT (id, name or path), with its acknowledgements."""
    from dataclasses import asdict

    from lockgate.registry.acks import list_acks
    from lockgate.registry.artifacts import show

    engine = store(load(config_path))
    art = show(engine, artifact)
    acks = [asdict(a) for a in list_acks(engine, art.id)]
    if as_json:
        _echo_json({**art.to_json(), "acknowledgements": acks})
        return
    table = Table("field", "value", show_header=False)
    skip = {"files", "chat_template", "scan_summary", "metadata"}
    for key, value in art.to_json().items():
        if key not in skip:
            _row(table, key, "-" if value is None else str(value))
    for f in art.files:
        _row(table, "file", f"{f.relpath}  {_size(f.size)}B  sha256:{f.sha256}")
    for finding in art.scan_findings():
        _row(table, "finding", f"[{finding['severity']}] {finding['rule']} {finding['location']}: "
                      f"{finding['message']}")  # fmt: skip
    for ack in acks:
        _row(table, "acknowledged", f"{ack['rule']} by {ack['by']}: {ack['reason']}")
    lineage = art.metadata.get("lineage")
    for key, value in lineage.items() if isinstance(lineage, dict) else ():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        _row(table, f"lineage.{key}", shown)
    Console().print(table)
    if art.chat_template:
        click.echo("chat template:\n" + art.chat_template)


@models.command("verify")
@click.argument("artifact", required=False)
@config_option
@_registry_errors
def verify_cmd(artifact: str | None, config_path: Path | None) -> None:
    """Re-hash ARTIFACT (default: all) and compare with the pinned hashes; exit 1 on any mismatch."""
    from lockgate.registry.artifacts import verify, verify_all

    engine = store(load(config_path))
    reports = [verify(engine, artifact)] if artifact else verify_all(engine)
    for rep in reports:
        click.echo(f"{rep.artifact.id} {rep.artifact.name}: {'ok' if rep.ok else rep.diff.describe()}")
    if not all(rep.ok for rep in reports):
        raise click.exceptions.Exit(1)


@models.command("remove")
@click.argument("artifact")
@config_option
@_registry_errors
def remove_cmd(artifact: str, config_path: Path | None) -> None:
    """Unregister ARTIFACT (the files stay on disk)."""
    from lockgate.registry.artifacts import remove

    art = remove(store(load(config_path)), artifact)
    click.echo(f"removed {art.id} {art.name!r}")


@models.command("scan")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--sarif", is_flag=True, help="Print SARIF 2.1.0 for CI code scanning.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE.")
def scan_cmd(path: Path, as_json: bool, sarif: bool, output: Path | None) -> None:
    """Scan PATH for unsafe serialisation, malformed headers, poisoned templates and remote code.

    Exit 0 when nothing blocking is found, 1 when something is, 2 on usage errors.
    """
    if as_json and sarif:
        raise click.UsageError("choose one of --json and --sarif")
    from lockgate.registry.scan import scan_path, to_sarif

    report = scan_path(path)
    if as_json or sarif:
        text = json.dumps(to_sarif([report]) if sarif else report.to_json(), indent=2)
        _write_or_echo(text, output)
    else:
        _print_report(report, output)
    raise click.exceptions.Exit(1 if report.blocking else 0)


def _print_report(report: Any, output: Path | None) -> None:
    table = Table("severity", "rule", "location", "message", "blocking", title=f"scan of {report.path}")
    for f in report.findings:
        sev = str(getattr(f.severity, "value", f.severity))
        _row(table, sev, f.rule, f.location, f.message, "yes" if f.blocking else "no")
    verdict = "blocking findings" if report.blocking else "nothing blocking"
    if output:
        output.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    console = Console()
    console.print(table if report.findings else f"no findings in {report.path}")
    console.print(f"{len(report.findings)} finding(s): {verdict}")


@models.command("licence")
@click.argument("checkpoint", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
@_registry_errors
def licence_cmd(checkpoint: str | None, as_json: bool, config_path: Path | None) -> None:
    """The licence register, evaluated for this operator; CHECKPOINT (or an artifact) for details."""
    from lockgate.registry.register_view import checkpoint_view, register_view

    cfg = load(config_path)
    if checkpoint is None:
        rows = register_view(cfg.operator)
        if as_json:
            _echo_json(rows)
            return
        table = Table("checkpoint", "title", "licence", "commercial", "verdict", title=_operator_title(cfg))
        for r in rows:
            _row(table, r["checkpoint"], r["title"], r["licence"]["spdx"], r["licence"]["commercial"],
                          ", ".join(r["blocking"]) or "ok")  # fmt: skip
        Console().print(table)
        return
    view = checkpoint_view(checkpoint, cfg.operator, lambda: store(cfg))
    if as_json:
        _echo_json(view)
        return
    table = Table("field", "value", show_header=False, title=_operator_title(cfg))
    for key, value in view["licence"].items():
        _row(table, key, "-" if value is None else str(value))
    for f in view["findings"]:
        _row(table, "BLOCKS" if f["blocking"] else "duty", f"{f['rule']}: {f['message']} ({f['resolution']})")
    Console().print(table)


def _operator_title(cfg: Any) -> str:
    op = cfg.operator
    return (
        f"for operator domicile={op.domicile} commercial={op.commercial_use} "
        f"MAU={op.monthly_active_users} revenue={op.annual_revenue_eur:.0f} EUR/yr"
    )


@models.command("ack")
@click.argument("artifact")
@click.argument("rule")
@click.option("--reason", required=True, help="Why this finding is acceptable (kept with the record).")
@click.option("--by", "by", default=None, help="Who acknowledges (default: the OS user).")
@config_option
@_registry_errors
def ack_cmd(artifact: str, rule: str, reason: str, by: str | None, config_path: Path | None) -> None:
    """Record an acknowledgement of RULE (a blocking licence or scan finding) for ARTIFACT."""
    from lockgate.registry.artifacts import show
    from lockgate.registry.errors import NotBlocking
    from lockgate.registry.gate import acknowledge_blocking

    cfg = load(config_path)
    engine = store(cfg)
    art = show(engine, artifact)
    try:
        ack = acknowledge_blocking(engine, art, cfg.operator, rule, reason, by)
    except NotBlocking as exc:
        raise click.BadParameter(str(exc), param_hint="RULE") from None
    click.echo(f"recorded acknowledgement #{ack.id}: {rule} for {art.id} by {ack.by}")


@models.command("bom")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE.")
@config_option
def bom_cmd(output: Path | None, config_path: Path | None) -> None:
    """Export a CycloneDX 1.6 ML-BOM (JSON) of every registered artifact."""
    from lockgate.registry.artifacts import list_artifacts
    from lockgate.registry.bom import bom_json

    text = bom_json(list_artifacts(store(load(config_path))))
    _write_or_echo(text, output)
