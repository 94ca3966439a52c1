"""The registered artifact as a value, and its rows in the store."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert, or_, select

from lockgate.registry.errors import AlreadyRegistered, ArtifactNotFound
from lockgate.registry.files import FileEntry
from lockgate.registry.tables import artifact_files, model_artifacts


@dataclass(frozen=True)
class Artifact:
    id: str
    name: str
    path: str
    format: str
    files: tuple[FileEntry, ...]
    signature_status: str
    scan_status: str
    registered_at: float
    architecture: str | None = None
    parameter_count: int | None = None
    quantization: str | None = None
    context_length: int | None = None
    chat_template: str | None = None
    chat_template_sha256: str | None = None
    publisher: str | None = None
    publisher_country: str | None = None
    base_model: str | None = None
    checkpoint: str | None = None
    licence_id: str | None = None
    source_url: str | None = None
    signature_detail: str | None = None
    scan_summary: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return Path(self.path)

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def scan_findings(self) -> list[dict[str, Any]]:
        return list((self.scan_summary or {}).get("findings", []))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = [asdict(f) for f in self.files]
        return data


_COLUMNS = [c.name for c in model_artifacts.columns]


def insert_artifact(engine: Engine, art: Artifact) -> None:
    row = {name: getattr(art, name) for name in _COLUMNS}
    with engine.begin() as conn:
        clash = conn.execute(
            select(model_artifacts.c.id).where(
                or_(model_artifacts.c.path == art.path, model_artifacts.c.name == art.name)
            )
        ).first()
        if clash is not None:
            raise AlreadyRegistered(
                f"{art.path} or the name {art.name!r} is already registered as {clash.id}; "
                f"run `lockgate models remove {clash.id}` first or pass --name"
            )
        conn.execute(insert(model_artifacts).values(**row))
        if art.files:
            conn.execute(
                insert(artifact_files),
                [{"artifact_id": art.id, **asdict(f)} for f in art.files],
            )


def _from_row(row: Any, files: list[FileEntry]) -> Artifact:
    values = {name: getattr(row, name) for name in _COLUMNS}
    values["metadata"] = values.get("metadata") or {}
    return Artifact(files=tuple(files), **values)


def _files_of(engine: Engine, ids: list[str]) -> dict[str, list[FileEntry]]:
    grouped: dict[str, list[FileEntry]] = {i: [] for i in ids}
    with engine.connect() as conn:
        rows = conn.execute(
            select(artifact_files)
            .where(artifact_files.c.artifact_id.in_(ids))
            .order_by(artifact_files.c.relpath)
        )
        for r in rows:
            grouped[r.artifact_id].append(FileEntry(relpath=r.relpath, sha256=r.sha256, size=r.size))
    return grouped


def all_artifacts(engine: Engine) -> list[Artifact]:
    with engine.connect() as conn:
        rows = list(conn.execute(select(model_artifacts).order_by(model_artifacts.c.registered_at)))
    files = _files_of(engine, [r.id for r in rows])
    return [_from_row(r, files[r.id]) for r in rows]


def find_artifact(engine: Engine, ident: str) -> Artifact | None:
    """By id, name or path (a path is compared after resolving it)."""
    candidates = {ident}
    path = Path(ident).expanduser()
    if path.exists():
        candidates.add(str(path.resolve()))
    cols = model_artifacts.c
    with engine.connect() as conn:
        row = conn.execute(
            select(model_artifacts).where(
                or_(cols.id.in_(candidates), cols.name.in_(candidates), cols.path.in_(candidates))
            )
        ).first()
    if row is None:
        return None
    return _from_row(row, _files_of(engine, [row.id])[row.id])


def get_artifact(engine: Engine, ident: str) -> Artifact:
    art = find_artifact(engine, ident)
    if art is None:
        raise ArtifactNotFound(
            f"no registered artifact {ident!r}; see `lockgate models list` or register it "
            f"with `lockgate models add PATH`"
        )
    return art


def delete_artifact(engine: Engine, artifact_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(artifact_files).where(artifact_files.c.artifact_id == artifact_id))
        conn.execute(delete(model_artifacts).where(model_artifacts.c.id == artifact_id))
