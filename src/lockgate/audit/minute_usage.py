"""Tokens per minute per alias and deployment, read from the usage records in ``audit_log``.

Aggregated in SQL (one row per alias, deployment and minute), so a busy day is a few thousand
rows, not one per request.  The minute bucket is the only dialect-specific part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Engine, cast, func, select

from lockgate.audit.tables import audit_log
from lockgate.usage.load import MINUTE, Series


def _sqlite_minute() -> ColumnElement[Any]:
    return cast(audit_log.c.started_at / MINUTE, BigInteger)  # truncation: floor for t >= 0


def _pg_minute() -> ColumnElement[Any]:
    return cast(func.floor(audit_log.c.started_at / MINUTE), BigInteger)


MINUTE_BUCKETS: dict[str, Callable[[], ColumnElement[Any]]] = {
    "sqlite": _sqlite_minute,
    "postgresql": _pg_minute,
}


@dataclass(slots=True)
class DeploymentSeries:
    alias: str
    deployment: str
    provider: str
    completion: Series = field(default_factory=dict)  # generated tokens per minute
    prompt: Series = field(default_factory=dict)


def minute_usage(engine: Engine, first_minute: int, last_minute: int) -> list[DeploymentSeries]:
    """Per (alias, deployment) that served requests in the minutes ``first_minute``..``last_minute``."""
    minute = MINUTE_BUCKETS[engine.dialect.name]().label("minute")
    query = (
        select(
            audit_log.c.model_alias,
            audit_log.c.deployment,
            audit_log.c.provider,
            minute,
            func.coalesce(func.sum(audit_log.c.completion_tokens), 0).label("completion"),
            func.coalesce(func.sum(audit_log.c.prompt_tokens), 0).label("prompt"),
        )
        .where(audit_log.c.started_at >= first_minute * MINUTE)
        .where(audit_log.c.started_at < (last_minute + 1) * MINUTE)
        .where(audit_log.c.deployment.is_not(None))
        .group_by(audit_log.c.model_alias, audit_log.c.deployment, audit_log.c.provider, minute)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out: dict[tuple[str, str], DeploymentSeries] = {}
    for r in rows:
        key = (str(r.model_alias or ""), str(r.deployment))
        entry = out.setdefault(key, DeploymentSeries(key[0], key[1], str(r.provider or "")))
        m = int(r.minute)
        entry.completion[m] = entry.completion.get(m, 0.0) + float(r.completion)
        entry.prompt[m] = entry.prompt.get(m, 0.0) + float(r.prompt)
    return sorted(out.values(), key=lambda s: (s.alias, s.deployment))
