"""Register the adapter like any model (hashes pinned, scanned, licensed) with its lineage.

The lineage (``RunRecord.lineage()``) is kept in the artifact's metadata under ``lineage``;
``lockgate models show`` prints it and the ML-BOM names the base model as the adapter's
ancestor.  The eval run ids are known only after the evaluation, which needs the adapter
registered first (the serving gate), so they are written into the same metadata afterwards.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, update

from lockgate.registry.artifacts import AddOptions, add
from lockgate.registry.bundled import BUNDLED_NAME, ensure_bundled_registered
from lockgate.registry.records import Artifact, delete_artifact, find_artifact, get_artifact
from lockgate.registry.tables import model_artifacts
from lockgate.tune.errors import TuneError
from lockgate.tune.record import RunRecord

LINEAGE_KEY = "lineage"


def resolve_base(engine: Engine, ident: str) -> Artifact:
    """The registered base model (the bundled one is registered on first use)."""
    if ident in (BUNDLED_NAME, "bundled"):
        return ensure_bundled_registered(engine)
    art = get_artifact(engine, ident)
    if art.format != "gguf" or len(art.files) != 1:
        raise TuneError(
            f"base {ident!r}: {art.name} is a {art.format} artifact of {len(art.files)} file(s); "
            "lockgate tune adapts a registered single-file GGUF (its adapter is served by llama.cpp)"
        )
    return art


def register_adapter(
    engine: Engine, base: Artifact, record: RunRecord, path: str, publisher: str | None, country: str | None
) -> Artifact:
    """Register the GGUF adapter under ``adapter:<run id>`` with the base's licence terms; the
    operator who trained it is its publisher."""
    _release_path(engine, path)
    opts = AddOptions(
        name=f"adapter:{record.run_id}",
        licence=base.licence_id,
        checkpoint=base.checkpoint,
        publisher=publisher,
        publisher_country=country,
        base_model=base.name,
        source_url=None,
        metadata={LINEAGE_KEY: record.lineage()},
    )
    return add(engine, path, opts)


def _release_path(engine: Engine, path: str) -> None:
    """An earlier run's adapter published at the same path is replaced: its pin is stale now."""
    old = find_artifact(engine, path)
    if old is None:
        return
    if LINEAGE_KEY not in old.metadata:
        raise TuneError(
            f"{path} is registered as {old.id} ({old.name}), which is not a tuned adapter; "
            "choose another 'output' path in the run spec"
        )
    delete_artifact(engine, old.id)


def update_lineage(engine: Engine, artifact_id: str, record: RunRecord) -> None:
    """Rewrite the adapter's lineage (after the evaluation has added its run ids)."""
    art = get_artifact(engine, artifact_id)
    metadata: dict[str, Any] = {**art.metadata, LINEAGE_KEY: record.lineage()}
    with engine.begin() as conn:
        conn.execute(update(model_artifacts).where(model_artifacts.c.id == art.id).values(metadata=metadata))
