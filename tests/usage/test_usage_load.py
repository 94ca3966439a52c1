"""The p95-minute load: nearest rank over every minute of the window, idle minutes as zero."""

from __future__ import annotations

import pytest

from lockgate.usage.load import add, minute_of, p95_minute, parse_window, total, window_bounds


def test_empty_window_is_zero_not_an_error() -> None:
    load = p95_minute({}, 100, 159)
    assert load.minutes == 60 and load.busy_minutes == 0
    assert load.p95_tokens_per_minute == 0.0 and load.peak_tokens_per_minute == 0.0 and load.tokens == 0.0


def test_single_minute_window_is_that_minute() -> None:
    load = p95_minute({7: 420.0}, 7, 7)
    assert (load.p95_tokens_per_minute, load.peak_tokens_per_minute, load.minutes) == (420.0, 420.0, 1)


def test_a_short_burst_in_a_long_window_is_above_the_p95() -> None:
    # 2 busy minutes of 100: fewer than 5% of them, so the p95 minute is idle; the peak shows the burst
    series = {m: 1000.0 for m in range(2)}
    load = p95_minute(series, 0, 99)
    assert load.p95_tokens_per_minute == 0.0 and load.peak_tokens_per_minute == 1000.0
    assert load.busy_minutes == 2 and load.tokens == 2000.0


def test_a_burst_of_more_than_five_percent_sets_the_p95() -> None:
    # 100 minutes: rank ceil(95) = 95th of the ascending list; 10 busy minutes 1..10 x 100
    series = {m: 100.0 * (m + 1) for m in range(10)}
    load = p95_minute(series, 0, 99)
    # ascending: 90 zeros, then 100..1000; the 95th value is the 5th busy one (500)
    assert load.p95_tokens_per_minute == 500.0 and load.peak_tokens_per_minute == 1000.0


def test_steady_load_is_its_own_p95() -> None:
    load = p95_minute({m: 60.0 for m in range(20)}, 0, 19)
    assert load.p95_tokens_per_minute == 60.0 and load.busy_minutes == 20


def test_minutes_outside_the_window_and_zeros_are_ignored() -> None:
    load = p95_minute({-1: 9999.0, 0: 0.0, 5: 30.0, 10: 9999.0}, 0, 9)
    assert load.peak_tokens_per_minute == 30.0 and load.busy_minutes == 1 and load.tokens == 30.0


def test_bad_windows_and_quantiles_are_refused() -> None:
    with pytest.raises(ValueError, match="no minutes"):
        p95_minute({}, 5, 4)
    with pytest.raises(ValueError, match="q must be"):
        p95_minute({}, 0, 1, q=0)


def test_parse_window() -> None:
    assert parse_window("90m") == 5400 and parse_window("24h") == 86400 and parse_window(" 7d ") == 604800
    for bad in ("", "24", "h", "1.5h", "-1h", "1w"):
        with pytest.raises(ValueError, match="not a window"):
            parse_window(bad)
    for out in ("0m", "32d", "745h"):
        with pytest.raises(ValueError, match="out of range"):
            parse_window(out)


def test_window_bounds_end_on_the_current_minute() -> None:
    first, last = window_bounds(3600.0 * 10 + 59.9, 3600)
    assert last == minute_of(3600.0 * 10 + 59.9) == 600 and last - first + 1 == 60
    assert window_bounds(120.0, 90) == (1, 2)  # 90 s round up to two minutes


def test_add_and_total_are_minute_by_minute() -> None:
    a, b = {1: 10.0, 2: 20.0}, {2: 5.0, 3: 1.0}
    assert total([a, b]) == {1: 10.0, 2: 25.0, 3: 1.0}
    assert add({}, a, 0.5) == {1: 5.0, 2: 10.0}
    assert add({9: 1.0}, a, 0.0) == {9: 1.0}
