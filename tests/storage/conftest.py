"""Fixtures: every store-backed test runs on SQLite and, with LOCKGATE_TEST_PG_URL, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from lockgate.audit.signing import Signer, load_or_create_key
from lockgate.audit.testing import pg_test_url, throwaway_database
from lockgate.storage.db import open_store


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
        return
    base = pg_test_url()
    if base is None:
        pytest.skip("LOCKGATE_TEST_PG_URL is not set (scripts/pg.sh starts a server)")
    with throwaway_database(base) as url:
        yield url


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    eng = open_store(store_url)
    yield eng
    eng.dispose()


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return load_or_create_key(tmp_path / "keys" / "audit-signing.key")
