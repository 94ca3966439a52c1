"""Register model artifacts with pinned hashes and everything an auditor asks about them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from lockgate.registry.checkpoints import Checkpoint, find_checkpoint, licence_for_tag, match_checkpoint
from lockgate.registry.errors import RegistryError
from lockgate.registry.files import ManifestDiff, build_manifest, compare, sha256_text
from lockgate.registry.publishers import publisher_of
from lockgate.registry.readers import ModelMeta, read_meta
from lockgate.registry.records import (
    Artifact,
    all_artifacts,
    delete_artifact,
    get_artifact,
    insert_artifact,
)
from lockgate.registry.scan import detect_format, scan_path
from lockgate.registry.signing import check_signature
from lockgate.registry.targets import resolve_target


@dataclass(frozen=True)
class AddOptions:
    """What the operator states about an artifact; unset fields are read from its files."""

    name: str | None = None
    licence: str | None = None
    checkpoint: str | None = None
    publisher: str | None = None
    publisher_country: str | None = None
    source_url: str | None = None
    base_model: str | None = None
    public_keys: Sequence[Path] = ()
    certificates: Sequence[Path] = ()
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifyReport:
    artifact: Artifact
    diff: ManifestDiff

    @property
    def ok(self) -> bool:
        return self.diff.ok


def _checkpoint(opts: AddOptions, meta: ModelMeta) -> Checkpoint | None:
    if opts.checkpoint:
        cp = find_checkpoint(opts.checkpoint)
        if cp is None:
            raise RegistryError(
                f"--checkpoint {opts.checkpoint!r} is not in the licence register; "
                "list known ids with `lockgate models licence`"
            )
        return cp
    if opts.licence:
        return None  # the operator named the licence; do not guess a checkpoint over it
    return match_checkpoint(meta.identity(), meta.base_models)


def _licence_id(opts: AddOptions, cp: Checkpoint | None, meta: ModelMeta) -> str | None:
    if opts.licence:
        return opts.licence
    if cp is not None:
        return cp.licence.spdx
    tagged = licence_for_tag(meta.licence_tag)
    return tagged.spdx if tagged else meta.licence_tag


def _scan(root: Path) -> tuple[str, dict[str, Any]]:
    report = scan_path(root)
    findings = [
        {"rule": f.rule, "severity": str(getattr(f.severity, "value", f.severity)), "location": f.location,
         "message": f.message, "blocking": f.blocking}
        for f in report.findings
    ]  # fmt: skip
    status = "blocking" if report.blocking else ("findings" if findings else "clean")
    return status, {"blocking": report.blocking, "findings": findings}


def _describe(root: Path, opts: AddOptions) -> dict[str, Any]:
    fmt = detect_format(root)
    meta = read_meta(root, fmt)
    cp = _checkpoint(opts, meta)
    org, country = publisher_of(meta.organization, cp)
    template = meta.chat_template
    return {
        "format": fmt,
        "architecture": meta.architecture,
        "parameter_count": meta.parameter_count,
        "quantization": meta.quantization,
        "context_length": meta.context_length,
        "chat_template": template,
        "chat_template_sha256": sha256_text(template) if template is not None else None,
        "publisher": opts.publisher or org,
        "publisher_country": (opts.publisher_country or country or "").upper() or None,
        "base_model": opts.base_model or ", ".join(meta.base_models) or (cp.base_model if cp else None),
        "checkpoint": cp.key if cp else None,
        "licence_id": _licence_id(opts, cp, meta),
        "source_url": opts.source_url,
        "name": opts.name or meta.name or root.stem,
        "metadata": {**opts.metadata, **({"gguf_license": meta.licence_tag} if meta.licence_tag else {}),
                     **meta.extra},
    }  # fmt: skip


def add(engine: Engine, target: str | Path, options: AddOptions | None = None) -> Artifact:
    """Hash, read, scan and register a file, folder or installed package's model."""
    opts = options or AddOptions()
    root = resolve_target(str(target))
    described = _describe(root, opts)
    scan_status, scan_summary = _scan(root)
    sig = check_signature(root, opts.public_keys, opts.certificates)
    artifact = Artifact(
        id="m-" + uuid.uuid4().hex[:10],
        path=str(root),
        files=tuple(build_manifest(root)),
        signature_status=sig.status,
        signature_detail=sig.detail or None,
        scan_status=scan_status,
        scan_summary=scan_summary,
        registered_at=time.time(),
        **described,
    )
    insert_artifact(engine, artifact)
    return artifact


def list_artifacts(engine: Engine) -> list[Artifact]:
    return all_artifacts(engine)


def show(engine: Engine, ident: str) -> Artifact:
    return get_artifact(engine, ident)


def verify(engine: Engine, ident: str) -> VerifyReport:
    """Re-hash the artifact's files and compare them with the pinned manifest."""
    art = get_artifact(engine, ident)
    return VerifyReport(art, compare(list(art.files), art.root))


def verify_all(engine: Engine) -> list[VerifyReport]:
    return [VerifyReport(a, compare(list(a.files), a.root)) for a in all_artifacts(engine)]


def remove(engine: Engine, ident: str) -> Artifact:
    art = get_artifact(engine, ident)
    delete_artifact(engine, art.id)
    return art
