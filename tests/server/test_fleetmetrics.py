"""Merging the workers' expositions into one /metrics answer (``server.fleetmetrics``)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from lockgate.server.fleetmetrics import merge

ONE = """# HELP lockgate_requests_total Requests
# TYPE lockgate_requests_total counter
lockgate_requests_total{alias="ok",status="200"} 3.0
lockgate_requests_total{alias="ok",status="500"} 1.0
lockgate_requests_created{alias="ok",status="200"} 200.0
# HELP lockgate_overhead_seconds Overhead
# TYPE lockgate_overhead_seconds histogram
lockgate_overhead_seconds_bucket{le="0.001"} 2.0
lockgate_overhead_seconds_bucket{le="+Inf"} 4.0
lockgate_overhead_seconds_count 4.0
lockgate_overhead_seconds_sum 0.5
# HELP lockgate_circuit_open Breaker
# TYPE lockgate_circuit_open gauge
lockgate_circuit_open{deployment="a"} 0.0
lockgate_circuit_open{deployment="b"} 1.0
# HELP lockgate_inflight_requests In flight
# TYPE lockgate_inflight_requests gauge
lockgate_inflight_requests{deployment="a"} 2.0
# HELP process_start_time_seconds Start
# TYPE process_start_time_seconds gauge
process_start_time_seconds 100.0
# HELP lockgate_worker_info Worker
# TYPE lockgate_worker_info gauge
lockgate_worker_info{pid="10",worker="0"} 1.0
"""

TWO = """# HELP lockgate_requests_total Requests
# TYPE lockgate_requests_total counter
lockgate_requests_total{alias="ok",status="200"} 5.0
lockgate_requests_created{alias="ok",status="200"} 100.0
# HELP lockgate_overhead_seconds Overhead
# TYPE lockgate_overhead_seconds histogram
lockgate_overhead_seconds_bucket{le="0.001"} 1.0
lockgate_overhead_seconds_bucket{le="+Inf"} 6.0
lockgate_overhead_seconds_count 6.0
lockgate_overhead_seconds_sum 0.25
# HELP lockgate_circuit_open Breaker
# TYPE lockgate_circuit_open gauge
lockgate_circuit_open{deployment="a"} 1.0
lockgate_circuit_open{deployment="b"} 0.0
# HELP lockgate_inflight_requests In flight
# TYPE lockgate_inflight_requests gauge
lockgate_inflight_requests{deployment="a"} 3.0
# HELP process_start_time_seconds Start
# TYPE process_start_time_seconds gauge
process_start_time_seconds 50.0
# HELP lockgate_worker_info Worker
# TYPE lockgate_worker_info gauge
lockgate_worker_info{pid="11",worker="1"} 1.0
"""


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text.decode())
        for s in fam.samples
    }


def test_counters_and_histograms_add_up() -> None:
    got = samples(merge([ONE, TWO]))
    ok200 = (("alias", "ok"), ("status", "200"))
    assert got[("lockgate_requests_total", ok200)] == 8.0
    assert got[("lockgate_requests_total", (("alias", "ok"), ("status", "500")))] == 1.0
    assert got[("lockgate_overhead_seconds_bucket", (("le", "0.001"),))] == 3.0
    assert got[("lockgate_overhead_seconds_bucket", (("le", "+Inf"),))] == 10.0
    assert got[("lockgate_overhead_seconds_count", ())] == 10.0
    assert got[("lockgate_overhead_seconds_sum", ())] == 0.75


def test_gauges_follow_their_mode_and_created_takes_the_earliest() -> None:
    got = samples(merge([ONE, TWO]))
    assert got[("lockgate_circuit_open", (("deployment", "a"),))] == 1.0  # max: open in any worker
    assert got[("lockgate_circuit_open", (("deployment", "b"),))] == 1.0
    assert got[("lockgate_inflight_requests", (("deployment", "a"),))] == 5.0  # summed
    assert got[("process_start_time_seconds", ())] == 50.0  # the earliest start
    assert got[("lockgate_requests_created", (("alias", "ok"), ("status", "200")))] == 100.0


def test_every_worker_keeps_its_own_info_line_and_one_worker_is_unchanged() -> None:
    got = samples(merge([ONE, TWO]))
    assert {dict(labels)["worker"] for name, labels in got if name == "lockgate_worker_info"} == {"0", "1"}
    assert samples(merge([ONE])) == samples(ONE.encode())


def test_nothing_to_merge_is_an_empty_exposition() -> None:
    assert merge([]) == b""
