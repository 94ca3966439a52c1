"""Recorded acknowledgements: who accepted which finding or licence rule for which artifact, and why."""

from __future__ import annotations

import getpass
import time
from dataclasses import asdict, dataclass, replace

from sqlalchemy import Engine, insert, select

from lockgate.registry.errors import RegistryError
from lockgate.registry.tables import acknowledgements


@dataclass(frozen=True)
class Acknowledgement:
    id: int
    artifact_id: str
    rule: str
    by: str
    reason: str
    at: float


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def record_ack(
    engine: Engine, artifact_id: str, rule: str, reason: str, by: str | None = None
) -> Acknowledgement:
    """Store an acknowledgement; the reason is mandatory so the record explains itself."""
    if not rule.strip():
        raise RegistryError(
            "RULE: name the finding or licence rule to acknowledge (e.g. licence.mau-threshold)"
        )
    if not reason.strip():
        raise RegistryError("--reason: say why this finding is acceptable (it is kept with the record)")
    ack = Acknowledgement(
        id=0,
        artifact_id=artifact_id,
        rule=rule.strip(),
        by=(by or default_actor()).strip(),
        reason=reason.strip(),
        at=time.time(),
    )
    row = {k: v for k, v in asdict(ack).items() if k != "id"}
    with engine.begin() as conn:
        new_id = conn.execute(insert(acknowledgements).values(**row)).inserted_primary_key
    return replace(ack, id=int(new_id[0]) if new_id else 0)


def list_acks(engine: Engine, artifact_id: str | None = None) -> list[Acknowledgement]:
    query = select(acknowledgements).order_by(acknowledgements.c.at, acknowledgements.c.id)
    if artifact_id is not None:
        query = query.where(acknowledgements.c.artifact_id == artifact_id)
    with engine.connect() as conn:
        return [
            Acknowledgement(
                id=r.id, artifact_id=r.artifact_id, rule=r.rule, by=r.by, reason=r.reason, at=r.at
            )
            for r in conn.execute(query)
        ]


def acknowledged_rules(engine: Engine, artifact_id: str) -> set[str]:
    return {a.rule for a in list_acks(engine, artifact_id)}
