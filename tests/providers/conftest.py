"""Fixtures shared by the HTTP client's tests: each runs on asyncio's own loop and on uvloop."""

from __future__ import annotations

import pytest
from tests.providers.h1_servers import Run, run_clean


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run:
    return lambda coro: run_clean(request.param, coro)
