"""The serving gate for LoRA adapters.

An adapter is a model artifact like any other: it passes the same checks as a base model
(registered, hashes unchanged since pinning, signature, scan, licence; see ``gate``) with the
same refusals.  Then it must be what it claims to be for the engine: a GGUF LoRA adapter
(``general.type = adapter``, ``adapter.type = lora``) for the base model's architecture; and
when the file (``lockgate.base.sha256``, written by ``lockgate tune``) or its registry record
(``metadata.base_sha256``, or ``lockgate tune``'s ``metadata.lineage.base.sha256``) names the
base model it was trained on, that base's SHA-256 must be the one pinned for the base model
being served.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from lockgate.registry.adapter_meta import (
    BASE_SHA256_KEY,
    AdapterMeta,
    read_adapter_meta,
    recorded_base_hashes,
)
from lockgate.registry.config import OperatorConfig
from lockgate.registry.errors import GateRefused
from lockgate.registry.gate import GateResult, check_servable
from lockgate.registry.records import Artifact

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class _Adapter:
    path: Path
    artifact: Artifact
    meta: AdapterMeta
    base: Artifact


def pinned_sha256(artifact: Artifact) -> str | None:
    """The pinned SHA-256 of a single-file artifact (a GGUF); None for a folder."""
    if len(artifact.files) == 1 and artifact.root.is_file():
        return artifact.files[0].sha256
    return None


def _read(path: Path, artifact: Artifact) -> AdapterMeta:
    try:
        return read_adapter_meta(artifact.root)
    except (ValueError, OSError, KeyError, IndexError, struct.error) as exc:
        raise GateRefused(
            f"adapter {path}: not a GGUF LoRA adapter (it cannot be read as GGUF: {exc}); "
            "convert it with llama.cpp's convert_lora_to_gguf.py or produce it with `lockgate tune`",
            "adapter",
        ) from None


def _check_kind(a: _Adapter) -> None:
    if not a.meta.is_lora:
        raise GateRefused(
            f"adapter {a.path}: not a LoRA adapter (general.type is {a.meta.general_type!r} and "
            f"adapter.type is {a.meta.adapter_type!r}; expected 'adapter' and 'lora'); "
            "name a GGUF LoRA adapter here and the base model in providers.<name>.engine.model",
            "adapter",
        )


def _check_architecture(a: _Adapter) -> None:
    want, got = a.base.architecture, a.meta.architecture
    if want and got and want != got:
        raise GateRefused(
            f"adapter {a.path}: made for architecture {got!r}, but the base model {a.base.path} "
            f"is {want!r}; serve it on a base model of its own architecture",
            "adapter",
        )


def _check_base(a: _Adapter) -> None:
    claims = {f"its GGUF metadata {BASE_SHA256_KEY}": a.meta.base_sha256}
    claims |= {
        f"its registry record {where}": value
        for where, value in recorded_base_hashes(a.artifact.metadata).items()
    }
    stated = {where: str(value).strip().lower() for where, value in claims.items() if value}
    if not stated:
        return
    pinned = pinned_sha256(a.base)
    for where, claim in stated.items():
        if not _SHA256.match(claim):
            raise GateRefused(
                f"adapter {a.path}: {where} is {claim!r}, not a SHA-256; re-export the adapter", "base"
            )
        if pinned is None or claim != pinned:
            raise GateRefused(
                f"adapter {a.path} was trained on the base model with SHA-256 {claim} ({where}), but "
                f"the base model {a.base.path} is pinned as SHA-256 {pinned or '(a folder: no single hash)'}; "
                "serve it on the base it was made for, or train it again on this one",
                "base",
            )


ADAPTER_CHECKS: tuple[Callable[[_Adapter], None], ...] = (_check_kind, _check_architecture, _check_base)


def check_adapter(
    engine: Engine,
    adapter_path: Path,
    base: Artifact,
    operator: OperatorConfig,
    acknowledgements: list[str],
    *,
    verify_hashes: bool = True,
) -> GateResult:
    """Refuse (``GateRefused``) unless the adapter may be served on the ``base`` artifact (which
    has passed ``check_servable`` itself)."""
    result = check_servable(engine, adapter_path, operator, acknowledgements, verify_hashes=verify_hashes)
    adapter = _Adapter(Path(adapter_path), result.artifact, _read(Path(adapter_path), result.artifact), base)
    for check in ADAPTER_CHECKS:
        check(adapter)
    return result
