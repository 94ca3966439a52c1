"""Prometheus metrics of the audit writer (process-wide; several sinks add up)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

QUEUE_DEPTH = Gauge("lockgate_audit_queue_depth", "Audit records accepted but not yet committed.")
QUEUE_CAPACITY = Gauge("lockgate_audit_queue_capacity", "Audit records the queue can hold.")
WRITTEN = Counter("lockgate_audit_written", "Audit records committed to the store.")
WRITE_ERRORS = Counter("lockgate_audit_write_errors", "Failed batch writes (the batch is retried).")
DROPPED = Counter("lockgate_audit_dropped", "Audit records refused because the queue was full.")
CHECKPOINTS = Counter("lockgate_audit_checkpoints", "Signed audit checkpoints written.")
WRITER_RESTARTS = Counter("lockgate_audit_writer_restarts", "Audit writer processes restarted after dying.")
HANDOVER_LATE = Counter(
    "lockgate_audit_handover_late",
    "Answers sent after audit.writer_wait without their record reaching a writer process.",
)
