"""Table of lockgate.usage: per-instance counter rows that all gateway instances sum up.

Each instance owns its own rows (``instance`` is part of the primary key), so concurrent
instances never contend for a row lock; the global value of a window is the SUM over instances.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, String, Table

from lockgate.storage.metadata import metadata

usage_counters = Table(
    "usage_counters",
    metadata,
    Column("scope", String(16), primary_key=True),
    Column("subject", String(200), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("window_start", BigInteger, primary_key=True),
    Column("instance", String(200), primary_key=True),
    Column("requests", BigInteger, nullable=False, default=0),
    Column("tokens", BigInteger, nullable=False, default=0),
    Column("cost", Float, nullable=False, default=0.0),
    Column("updated_at", Float, nullable=False),
    Index("ix_usage_counters_period_window_start", "period", "window_start"),
)
