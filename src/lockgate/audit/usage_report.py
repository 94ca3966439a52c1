"""Usage and cost per key, team, model, provider or jurisdiction, per day or month.

Aggregated in SQL from ``audit_log``.  The period bucket is the only dialect-specific part and
comes from ``BUCKETS`` (UTC on both SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, Engine, Integer, case, cast, func, literal, or_, select

from lockgate.audit.tables import audit_log

DIMENSIONS: dict[str, ColumnElement[Any]] = {
    "key": audit_log.c.key_id,
    "team": audit_log.c.team,
    "model": audit_log.c.model_alias,
    "provider": audit_log.c.provider,
    "jurisdiction": audit_log.c.jurisdiction,
}

_SQLITE_FORMATS = {"day": "%Y-%m-%d", "month": "%Y-%m"}
_PG_FORMATS = {"day": "YYYY-MM-DD", "month": "YYYY-MM"}


def _sqlite_bucket(period: str) -> ColumnElement[Any]:
    return func.strftime(_SQLITE_FORMATS[period], audit_log.c.started_at, literal("unixepoch"))


def _pg_bucket(period: str) -> ColumnElement[Any]:
    utc = func.timezone(literal("UTC"), func.to_timestamp(audit_log.c.started_at))
    return func.to_char(utc, _PG_FORMATS[period])


BUCKETS: dict[str, Callable[[str], ColumnElement[Any]]] = {"sqlite": _sqlite_bucket, "postgresql": _pg_bucket}
PERIODS: tuple[str, ...] = tuple(_SQLITE_FORMATS)


@dataclass(frozen=True, slots=True)
class UsageRow:
    period: str
    group: str | None
    currency: str | None
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost: float
    errors: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def usage(engine: Engine, by: str, period: str, since: float | None = None) -> list[UsageRow]:
    """One row per (period, group, currency); ``by`` in ``DIMENSIONS``, ``period`` in ``PERIODS``."""
    if by not in DIMENSIONS or period not in PERIODS:
        raise ValueError(f"usage: by must be one of {sorted(DIMENSIONS)} and period one of {list(PERIODS)}")
    group = DIMENSIONS[by]
    bucket = BUCKETS[engine.dialect.name](period).label("period")
    failed = or_(audit_log.c.status >= 400, audit_log.c.error_type.is_not(None))
    query = select(
        bucket,
        group.label("grp"),
        audit_log.c.currency,
        func.count().label("requests"),
        func.coalesce(func.sum(audit_log.c.prompt_tokens), 0).label("prompt_tokens"),
        func.coalesce(func.sum(audit_log.c.completion_tokens), 0).label("completion_tokens"),
        func.coalesce(func.sum(audit_log.c.cached_tokens), 0).label("cached_tokens"),
        func.coalesce(func.sum(audit_log.c.cost), 0.0).label("cost"),
        func.coalesce(func.sum(cast(case((failed, 1), else_=0), Integer)), 0).label("errors"),
    ).group_by(bucket, group, audit_log.c.currency)
    if since is not None:
        query = query.where(audit_log.c.started_at >= since)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out = [
        UsageRow(
            str(r.period),
            None if r.grp is None else str(r.grp),
            r.currency,
            int(r.requests),
            int(r.prompt_tokens),
            int(r.completion_tokens),
            int(r.cached_tokens),
            round(float(r.cost), 9),
            int(r.errors),
        )
        for r in rows
    ]
    return sorted(out, key=lambda u: (u.period, u.group or "", u.currency or ""))
