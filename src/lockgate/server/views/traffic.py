"""Traffic from the audit log: series by jurisdiction, provider and route reason, personal-data
share, policy refusals, and a filterable request list that never carries bodies.

Every query is an aggregate or a bounded page in SQL; callers run them in a thread.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Engine, Integer, and_, case, cast, func, select

from lockgate.audit.tables import audit_log

SERIES: dict[str, ColumnElement[Any]] = {
    "jurisdiction": audit_log.c.jurisdiction,
    "provider": audit_log.c.provider,
    "route_reason": audit_log.c.route_reason,
}
#: Request-list filters: query parameter -> column (exact match).
FILTERS: dict[str, ColumnElement[Any]] = {
    "key_id": audit_log.c.key_id,
    "team": audit_log.c.team,
    "model": audit_log.c.model_alias,
    "provider": audit_log.c.provider,
    "jurisdiction": audit_log.c.jurisdiction,
    "status": audit_log.c.status,
    "request_id": audit_log.c.request_id,
}
#: Columns of the request list (never request_body/response_body).
LIST_COLUMNS = (
    "chain_id", "seq", "request_id", "started_at", "endpoint", "key_id", "key_name", "team", "model_alias",
    "deployment", "provider", "jurisdiction", "policy", "route_reason", "pii_findings", "prompt_tokens",
    "completion_tokens", "cost", "currency", "latency_ms", "status", "error_type",
)  # fmt: skip
MAX_PAGE = 500


def _bucket(seconds: int) -> ColumnElement[Any]:
    return cast(func.floor(audit_log.c.started_at / seconds), Integer)


def overview(engine: Engine, hours: int, bucket_seconds: int, now: float | None = None) -> dict[str, Any]:
    """Per-bucket requests, tokens and cost for each series, plus personal data and refusals."""
    since = (now if now is not None else time.time()) - hours * 3600
    window = audit_log.c.started_at >= since
    bucket = _bucket(bucket_seconds).label("bucket")
    tokens = func.coalesce(func.sum(audit_log.c.prompt_tokens + audit_log.c.completion_tokens), 0)
    personal = and_(audit_log.c.pii_findings != "{}", audit_log.c.pii_findings != "")
    out: dict[str, Any] = {"since": since, "hours": hours, "bucket_seconds": bucket_seconds, "series": {}}
    with engine.connect() as conn:
        for name, col in SERIES.items():
            rows = conn.execute(
                select(bucket, col.label("grp"), func.count().label("requests"), tokens.label("tokens"),
                       func.coalesce(func.sum(audit_log.c.cost), 0.0).label("cost"))
                .where(window).group_by(bucket, col).order_by(bucket)
            ).all()  # fmt: skip
            out["series"][name] = [
                {"t": int(r.bucket) * bucket_seconds, "group": r.grp, "requests": int(r.requests),
                 "tokens": int(r.tokens), "cost": round(float(r.cost), 9)}
                for r in rows
            ]  # fmt: skip
        pii = conn.execute(
            select(audit_log.c.jurisdiction.label("grp"), func.count().label("requests"),
                   func.coalesce(func.sum(cast(case((personal, 1), else_=0), Integer)), 0).label("personal"))
            .where(window).group_by(audit_log.c.jurisdiction)
        ).all()  # fmt: skip
        refusals = conn.execute(
            select(audit_log.c.error_type, audit_log.c.model_alias, func.count().label("requests"))
            .where(window, audit_log.c.status == 403)
            .group_by(audit_log.c.error_type, audit_log.c.model_alias)
        ).all()  # fmt: skip
    total = sum(int(r.requests) for r in pii)
    carried = sum(int(r.personal) for r in pii)
    out["totals"] = {
        "requests": total,
        "personal": carried,
        "refused": sum(int(r.requests) for r in refusals),
    }
    out["personal_data"] = [
        {"jurisdiction": r.grp, "requests": int(r.requests), "personal": int(r.personal)} for r in pii
    ]
    out["refusals"] = [
        {"error_type": r.error_type, "model": r.model_alias, "requests": int(r.requests)} for r in refusals
    ]
    return out


def request_page(
    engine: Engine, filters: Mapping[str, str], limit: int, before: float | None
) -> dict[str, Any]:
    """The newest requests matching ``filters`` (exact matches), ``limit`` at most, older than ``before``."""
    conds = []
    for name, value in filters.items():
        col = FILTERS[name]
        conds.append(col == (int(value) if name == "status" else value))
    if before is not None:
        conds.append(audit_log.c.started_at < before)
    query = (
        select(*(audit_log.c[c] for c in LIST_COLUMNS))
        .where(*conds)
        .order_by(audit_log.c.started_at.desc(), audit_log.c.seq.desc())
        .limit(min(limit, MAX_PAGE))
    )
    with engine.connect() as conn:
        rows = [{str(k): v for k, v in r._mapping.items()} for r in conn.execute(query)]
    return {
        "data": rows,
        "next_before": rows[-1]["started_at"] if len(rows) == min(limit, MAX_PAGE) else None,
    }
