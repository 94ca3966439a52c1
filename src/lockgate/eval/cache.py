"""Completion cache: a SQLite file keyed by sha256 of (model, messages, tools, params).

A rerun (same or another run directory pointing at the same cache) only calls what changed.
Each completion is committed as soon as it arrives, so an interrupted run keeps its progress
and ``--resume`` calls only the remainder.  Failed calls are never cached.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from lockgate.eval.backend import Completion

SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    created REAL NOT NULL,
    body BLOB NOT NULL
)
"""


def cache_key(
    model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, params: dict[str, Any]
) -> str:
    canonical = orjson.dumps(
        {"model": model, "messages": messages, "tools": tools or [], "params": params},
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()


class CompletionCache:
    """Synchronous and tiny: each call is one indexed SQLite statement."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(SCHEMA)

    def get(self, key: str) -> Completion | None:
        row = self.db.execute("SELECT body FROM completions WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        data: dict[str, Any] = orjson.loads(row[0])
        return Completion(**data)

    def put(self, key: str, model: str, completion: Completion) -> None:
        body = orjson.dumps(asdict(completion))
        self.db.execute(
            "INSERT OR REPLACE INTO completions (key, model, created, body) VALUES (?, ?, ?, ?)",
            (key, model, time.time(), body),
        )

    def __len__(self) -> int:
        row = self.db.execute("SELECT count(*) FROM completions").fetchone()
        return int(row[0])

    def close(self) -> None:
        self.db.close()
