"""Spend against the configured budgets (``limits``), from the audit log's own usage query.

The limiter enforces budgets on the request path from its in-memory counters; this view reads
the audit log, so it shows what was recorded, for the current UTC day and month.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine

from lockgate.audit.usage_report import usage
from lockgate.usage.config import Limit, LimitsConfig
from lockgate.usage.windows import day_bounds, month_bounds

_LIMIT_FIELDS = ("requests_per_minute", "tokens_per_minute", "spend_per_day", "spend_per_month")


def _spend(engine: Engine, by: str, since: float) -> dict[str | None, float]:
    period = "day"
    out: dict[str | None, float] = {}
    for row in usage(engine, by, period, since):
        out[row.group] = out.get(row.group, 0.0) + row.cost
    return out


def _limit(limit: Limit) -> dict[str, Any]:
    return {f: getattr(limit, f) for f in _LIMIT_FIELDS}


def budgets(
    engine: Engine, limits: LimitsConfig, keys: list[dict[str, Any]], now: float | None = None
) -> dict[str, Any]:
    now = time.time() if now is None else now
    day0, month0 = day_bounds(now)[0], month_bounds(now)[0]
    key_day, key_month = _spend(engine, "key", day0), _spend(engine, "key", month0)
    team_day, team_month = _spend(engine, "team", day0), _spend(engine, "team", month0)
    rows = []
    for k in keys:
        limit = limits.keys.get(str(k["name"])) or limits.default_key
        rows.append({"scope": "key", "name": k["name"], "id": k["id"], "team": k.get("team"),
                     "limit": _limit(limit) if limit else None,
                     "spend_day": key_day.get(k["id"], 0.0), "spend_month": key_month.get(k["id"], 0.0)})  # fmt: skip
    for team, limit in limits.teams.items():
        rows.append({"scope": "team", "name": team, "id": None, "team": team, "limit": _limit(limit),
                     "spend_day": team_day.get(team, 0.0), "spend_month": team_month.get(team, 0.0)})  # fmt: skip
    return {"day_start": day0, "month_start": month0, "budgets": rows}
