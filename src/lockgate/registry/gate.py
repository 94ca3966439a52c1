"""The serving gate: a local engine starts only on a registered, unchanged, clean, licensed artifact.

Checks run in order (registered → hashes → signature → scan → licence); the first that fails
raises ``GateRefused`` naming what failed and how to resolve it.  Scan and licence blocks can
only be passed by a recorded acknowledgement: one made with ``lockgate models ack`` or a rule id
listed in ``providers.<name>.engine.acknowledge`` (recorded in the store the first time it is used).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from lockgate.registry.acks import Acknowledgement, acknowledged_rules, record_ack
from lockgate.registry.checkpoints import Checkpoint
from lockgate.registry.config import OperatorConfig
from lockgate.registry.errors import GateRefused, NotBlocking
from lockgate.registry.files import compare
from lockgate.registry.licence_terms import Licence
from lockgate.registry.licences import LicenceFinding, evaluate, resolve_licence, unknown_licence
from lockgate.registry.records import Artifact, find_artifact

CONFIG_ACTOR = "config"


@dataclass
class GateResult:
    artifact: Artifact
    licence: Licence | None = None
    checkpoint: Checkpoint | None = None
    duties: list[LicenceFinding] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)


@dataclass
class _Context:
    engine: Engine
    path: Path
    operator: OperatorConfig
    config_acks: set[str]
    verify_hashes: bool
    result: GateResult


def _how_to_ack(art: Artifact, rule: str) -> str:
    return (
        f"after review, record `lockgate models ack {art.id} {rule} --reason TEXT` or list "
        f"{rule!r} in providers.<name>.engine.acknowledge"
    )


def _acknowledged(ctx: _Context, rules: Sequence[str]) -> set[str]:
    """Rules acknowledged in the store, recording config-listed ones the first time they are used."""
    art = ctx.result.artifact
    recorded = acknowledged_rules(ctx.engine, art.id)
    for rule in rules:
        if rule in ctx.config_acks and rule not in recorded:
            record_ack(
                ctx.engine, art.id, rule, "listed in providers.<name>.engine.acknowledge", CONFIG_ACTOR
            )
            recorded.add(rule)
    passed = recorded.intersection(rules)
    ctx.result.acknowledged.extend(sorted(passed - set(ctx.result.acknowledged)))
    return passed


def _check_hashes(ctx: _Context) -> None:
    if not ctx.verify_hashes:
        return
    art = ctx.result.artifact
    diff = compare(list(art.files), art.root)
    if not diff.ok:
        raise GateRefused(
            f"model {ctx.path}: files differ from the hashes pinned at registration ({diff.describe()}); "
            f"restore the original files, or if the change is intended run `lockgate models remove {art.id}` "
            f"and `lockgate models add {art.path}` again",
            "hashes",
        )


def _check_signature(ctx: _Context) -> None:
    art = ctx.result.artifact
    if art.signature_status == "failed":
        raise GateRefused(
            f"model {ctx.path}: its model-signing signature failed verification ({art.signature_detail}); "
            "obtain the files from the publisher again, or configure the right key in "
            "registry.signing_public_keys and re-register",
            "signature",
        )


def _check_scan(ctx: _Context) -> None:
    art = ctx.result.artifact
    blocking = [f for f in art.scan_findings() if f.get("blocking")]
    passed = _acknowledged(ctx, [str(f["rule"]) for f in blocking])
    open_findings = [f for f in blocking if f["rule"] not in passed]
    if open_findings:
        first = open_findings[0]
        listed = "; ".join(f"{f['rule']} at {f['location']}: {f['message']}" for f in open_findings[:3])
        raise GateRefused(
            f"model {ctx.path}: the scan found {len(open_findings)} blocking finding(s): {listed}; "
            f"inspect them with `lockgate models scan {art.path}` and replace the artifact "
            "(prefer safetensors or GGUF from the original publisher), or "
            f"{_how_to_ack(art, str(first['rule']))}",
            "scan",
        )


def licence_findings(
    artifact: Artifact, operator: OperatorConfig
) -> tuple[Licence | None, Checkpoint | None, list[LicenceFinding]]:
    """The terms binding the artifact and what they mean for this operator (unknown terms block)."""
    licence, checkpoint = resolve_licence(artifact.checkpoint, artifact.licence_id)
    findings = evaluate(licence, operator) if licence else [unknown_licence(artifact.name)]
    return licence, checkpoint, findings


def _check_licence(ctx: _Context) -> None:
    art = ctx.result.artifact
    licence, checkpoint, findings = licence_findings(art, ctx.operator)
    ctx.result.licence, ctx.result.checkpoint = licence, checkpoint
    blocking = [f for f in findings if f.blocking]
    passed = _acknowledged(ctx, [f.rule for f in blocking])
    ctx.result.duties = [f for f in findings if not f.blocking]
    for finding in blocking:
        if finding.rule not in passed:
            raise GateRefused(
                f"model {ctx.path}: licence check {finding.rule}: {finding.message}; resolve: "
                f"{finding.resolution}; or {_how_to_ack(art, finding.rule)}",
                "licence",
            )


CHECKS: tuple[Callable[[_Context], None], ...] = (
    _check_hashes,
    _check_signature,
    _check_scan,
    _check_licence,
)


def check_servable(
    engine: Engine,
    model_path: Path,
    operator: OperatorConfig,
    acknowledgements: list[str],
    *,
    verify_hashes: bool = True,
) -> GateResult:
    """Refuse (``GateRefused``) unless the artifact at ``model_path`` may be served by this operator."""
    artifact = find_artifact(engine, str(model_path))
    if artifact is None or Path(artifact.path) != Path(model_path).expanduser().resolve():
        raise GateRefused(
            f"model {model_path}: not registered; run `lockgate models add {model_path}` "
            "(registers its hashes, scan and licence) before serving it",
            "registered",
        )
    ctx = _Context(
        engine, Path(model_path), operator, set(acknowledgements), verify_hashes, GateResult(artifact)
    )
    for check in CHECKS:
        check(ctx)
    return ctx.result


def blocking_rules(artifact: Artifact, operator: OperatorConfig) -> list[str]:
    """Rule ids that block serving this artifact for this operator (what an acknowledgement may name)."""
    rules = [str(f["rule"]) for f in artifact.scan_findings() if f.get("blocking")]
    rules += [f.rule for f in licence_findings(artifact, operator)[2] if f.blocking]
    return list(dict.fromkeys(rules))


def acknowledge_blocking(
    engine: Engine,
    artifact: Artifact,
    operator: OperatorConfig,
    rule: str,
    reason: str,
    by: str | None = None,
) -> Acknowledgement:
    """Record an acknowledgement of ``rule``, which must block serving ``artifact`` for this
    operator (the one check the CLI and the admin API share); ``NotBlocking`` otherwise."""
    known = blocking_rules(artifact, operator)
    if rule not in known:
        listed = ", ".join(known) or "none"
        raise NotBlocking(f"{rule!r} does not block {artifact.id}; blocking rules: {listed}")
    return record_ack(engine, artifact.id, rule, reason, by)
