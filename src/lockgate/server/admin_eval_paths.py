"""OpenAPI entries for the admin routes of evaluation runs, model acknowledgements and the
streamed audit verification (``server.admin_evals``, ``server.admin_acks``,
``server.admin_verify``); merged into ``server.openapi.document`` and built with its operation
helper so the error shapes match."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Json = dict[str, Any]

_RUN_NAME: Json = {"type": "string", "minLength": 1, "maxLength": 200,
                   "pattern": "^[A-Za-z0-9][A-Za-z0-9._@=+-]*$"}  # fmt: skip


def _run(name: str, where: str, description: str) -> Json:
    return {"name": name, "in": where, "required": True, "description": description, "schema": _RUN_NAME}


def ack_schema() -> Json:
    text = {"type": "string", "minLength": 1, "maxLength": 2000}
    return {"type": "object", "required": ["rule", "reason"], "additionalProperties": True,
            "properties": {"rule": {**text, "description": "A rule that blocks serving the artifact."},
                           "reason": {**text, "description": "Why it is acceptable (kept with the record)."},
                           "by": {**text, "description": "Who acknowledges (default: the admin key)."}}}  # fmt: skip


def eval_ack_paths(op: Callable[..., Json]) -> Json:
    """``op`` is ``server.openapi._op`` (summary, tag, body, *, params=…, ok_status=…)."""
    report = op("One run's HTML report (served with a CSP that runs no script)", "admin",
                params=[_run("run_id", "path", "A run directory name (GET /admin/evals).")])  # fmt: skip
    report["responses"]["200"] = {"description": "The report written by 'lockgate eval run'",
                                  "content": {"text/html": {"schema": {"type": "string"}}}}  # fmt: skip
    ack = op("Acknowledge a rule that blocks serving an artifact (as 'lockgate models ack')", "admin",
             ok_status="201", params=[{"name": "artifact_id", "in": "path", "required": True,
                                       "description": "An artifact id, name or path (GET /admin/models).",
                                       "schema": {"type": "string", "minLength": 1}}])  # fmt: skip
    ack["requestBody"] = {"required": True, "content": {"application/json": {"schema": ack_schema()}}}
    stream = op("Verify every audit chain, streaming progress by records as JSON lines", "admin")
    stream["responses"]["200"] = {"description": "One job state per line (as GET /admin/audit/verify/{job_id}), "
                                                 "the last one final", "content": {"application/x-ndjson": {
                                                     "schema": {"type": "string"}}}}  # fmt: skip
    return {
        "/admin/audit/verify-stream": {"post": stream},
        "/admin/evals": {"get": op("Evaluation runs in eval.runs_dir: suite, models, dates, scores", "admin")},
        "/admin/evals/compare": {"get": op("What changed between two runs (as 'lockgate eval compare')", "admin",
                                           params=[_run("a", "query", "The earlier run."),
                                                   _run("b", "query", "The later run.")])},
        "/admin/evals/{run_id}/report": {"get": report},
        "/admin/models/{artifact_id}/acks": {"post": ack},
    }  # fmt: skip
