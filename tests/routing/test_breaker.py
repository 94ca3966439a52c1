"""Circuit breaker states: closed → open after N failures → half-open single probe → closed."""

from __future__ import annotations

from lockgate.routing.breaker import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_threshold_and_probes_once() -> None:
    clock = Clock()
    b = CircuitBreaker(failure_threshold=3, reset_after=10, clock=clock)
    for _ in range(2):
        b.record_failure()
    assert b.state is BreakerState.CLOSED and b.allow()
    b.record_failure()
    assert b.state is BreakerState.OPEN and not b.allow()
    clock.now = 10
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow()  # the one probe
    assert not b.allow()  # no second concurrent probe
    b.record_success()
    assert b.state is BreakerState.CLOSED and b.allow()


def test_failed_probe_reopens_for_a_full_period() -> None:
    clock = Clock()
    b = CircuitBreaker(failure_threshold=1, reset_after=5, clock=clock)
    b.record_failure()
    clock.now = 5
    assert b.allow()
    b.record_failure()
    assert b.state is BreakerState.OPEN
    clock.now = 9
    assert not b.allow()
    clock.now = 10
    assert b.allow()


def test_success_resets_failure_count_and_release_frees_probe() -> None:
    clock = Clock()
    b = CircuitBreaker(failure_threshold=2, reset_after=1, clock=clock)
    b.record_failure()
    b.record_success()
    b.record_failure()
    assert b.state is BreakerState.CLOSED
    b.record_failure()
    clock.now = 1
    assert b.allow()
    b.release()  # the probe ended without a verdict
    assert b.allow()
