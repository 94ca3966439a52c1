"""Window arithmetic: UTC calendar periods, the interpolated minute, Retry-After rounding."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lockgate.usage.windows import (
    day_bounds,
    horizon,
    interpolated,
    minute_bounds,
    month_bounds,
    retry_seconds,
    sliding_retry_after,
)


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


def test_minute_and_day_bounds() -> None:
    assert minute_bounds(ts(2025, 3, 10, 12, 0, 59)) == (ts(2025, 3, 10, 12, 0), ts(2025, 3, 10, 12, 1))
    assert day_bounds(ts(2025, 3, 10, 23, 59, 59)) == (ts(2025, 3, 10), ts(2025, 3, 11))


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        (ts(2025, 12, 31, 23, 59), ts(2025, 12, 1), ts(2026, 1, 1)),
        (ts(2024, 2, 29, 12), ts(2024, 2, 1), ts(2024, 3, 1)),
        (ts(2025, 3, 1), ts(2025, 3, 1), ts(2025, 4, 1)),
    ],
)
def test_month_bounds(now: float, start: float, end: float) -> None:
    assert month_bounds(now) == (start, end)


def test_horizon_reaches_back_one_minute() -> None:
    now = ts(2025, 3, 10, 12, 0, 30)
    assert horizon(now) == {
        "minute": ts(2025, 3, 10, 11, 59),
        "day": ts(2025, 3, 10),
        "month": ts(2025, 3, 1),
    }


def test_interpolation_weighs_the_previous_minute() -> None:
    assert interpolated(10, 2, 0) == 12
    assert interpolated(10, 2, 15) == pytest.approx(9.5)
    assert interpolated(10, 2, 60) == 2


def test_retry_after_inside_the_window() -> None:
    # prev 10, curr 2, limit 8: need 10 * (1 - e/60) < 6 -> e > 24; at e = 15 wait 9 s
    assert sliding_retry_after(10, 2, 15, 8) == pytest.approx(9.0)
    assert interpolated(10, 2, 15 + 9.001) < 8


def test_retry_after_when_current_window_alone_is_full() -> None:
    # curr 20 >= limit 10: 45 s to the next window, then 20 * (1 - e/60) < 10 -> e > 30
    assert sliding_retry_after(0, 20, 15, 10) == pytest.approx(75.0)


def test_retry_seconds_is_strictly_after_and_at_least_one() -> None:
    assert retry_seconds(0.0) == 1
    assert retry_seconds(9.0) == 10
    assert retry_seconds(9.2) == 10
