"""Fixtures for lockgate.usage: a settable clock and the stores the shared counters run on."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from lockgate.storage.db import open_store

# 2025-03-10 12:00:00 UTC, a Monday in the middle of a month
NOON = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float = NOON) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def subject() -> str:
    """A name no other test uses, so tests can share one PostgreSQL database."""
    return f"t-{uuid.uuid4().hex[:10]}"


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lockgate.db'}"


def _pg_url(_tmp_path: Path) -> str:
    url = os.environ.get("LOCKGATE_TEST_PG_URL")
    if not url:
        pytest.skip("LOCKGATE_TEST_PG_URL is not set (start one with: bash scripts/pg.sh)")
    return url


STORES = {"sqlite": _sqlite_url, "postgresql": _pg_url}


@pytest.fixture(
    params=[
        pytest.param("sqlite"),
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return STORES[request.param](tmp_path)


@pytest.fixture
def engines(store_url: str) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on one store, as two gateway processes would hold."""
    first, second = open_store(store_url), open_store(store_url)
    yield first, second
    first.dispose()
    second.dispose()
