"""Plain-data views of the licence register for the CLI and JSON output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy import Engine

from lockgate.registry.checkpoints import CHECKPOINTS, Checkpoint, find_checkpoint
from lockgate.registry.config import OperatorConfig
from lockgate.registry.errors import RegistryError
from lockgate.registry.licence_terms import Licence
from lockgate.registry.licences import evaluate, resolve_licence, unknown_licence
from lockgate.registry.records import find_artifact

View = dict[str, Any]


def _view(title: str, licence: Licence | None, operator: OperatorConfig, cp: Checkpoint | None) -> View:
    findings = evaluate(licence, operator) if licence else [unknown_licence(title)]
    return {
        "checkpoint": cp.key if cp else None,
        "title": title,
        "repos": list(cp.repos) if cp else [],
        "source_url": cp.source_url if cp else None,
        "licence": asdict(licence) if licence else {"spdx": "unknown"},
        "findings": [asdict(f) for f in findings],
        "blocking": [f.rule for f in findings if f.blocking],
    }


def register_view(operator: OperatorConfig) -> list[View]:
    return [_view(cp.title, cp.licence, operator, cp) for cp in CHECKPOINTS]


def checkpoint_view(key: str, operator: OperatorConfig, engine: Callable[[], Engine]) -> View:
    """A checkpoint of the register by id or repo, else a registered artifact by id, name or path."""
    cp = find_checkpoint(key)
    if cp is not None:
        return _view(cp.title, cp.licence, operator, cp)
    art = find_artifact(engine(), key)
    if art is None:
        raise RegistryError(
            f"{key!r} is neither a checkpoint of the licence register nor a registered artifact; "
            "list checkpoints with `lockgate models licence`"
        )
    licence, cp = resolve_licence(art.checkpoint, art.licence_id)
    return {**_view(art.name, licence, operator, cp), "artifact": art.id}
