"""OpenAPI entries for the admin read views and the console routes (merged into
``server.openapi.document``; built with its operation helper so the error shapes match)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Json = dict[str, Any]


def _query(
    name: str, description: str, schema: Json | None = None, many: bool = False, required: bool = False
) -> Json:
    schema = schema or {"type": "string"}
    if many:
        schema = {"type": "array", "items": schema}
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema,
            **({"style": "form", "explode": True} if many else {})}  # fmt: skip


_WINDOW = (
    r"^(?:[1-9][0-9]{0,3}m|(?:[1-9][0-9]?|[1-6][0-9]{2}|7[0-3][0-9]|74[0-4])h|(?:[1-9]|[12][0-9]|3[01])d)$"
)


def _with_body(op: Json, media: str, description: str) -> Json:
    schema = {"type": "object"} if media.endswith("json") else {"type": "string"}
    op["responses"]["200"] = {"description": description, "content": {media: {"schema": schema}}}
    return op


def admin_view_paths(op: Callable[..., Json], policies: Iterable[str] = ()) -> Json:
    """``op`` is ``server.openapi._op`` (summary, tag, body, *, params=…, ok_status=…);
    ``policies`` are this gateway's policy names."""
    num = {"type": "number"}
    names = sorted(policies)
    policy: Json = {"enum": names} if names else {"type": "string", "minLength": 1}
    target: Json = {"$ref": "#/components/schemas/CutTarget"}
    filters = [_query(n, f"Exact match on {n}.") for n in ("key_id", "team", "model", "provider", "jurisdiction",
                                                         "request_id")]  # fmt: skip
    filters.append(_query("status", "HTTP status code.", {"type": "string", "pattern": "^[1-5][0-9][0-9]$"}))
    job = {"name": "job_id", "in": "path", "required": True, "description": "A verification job id.",
           "schema": {"type": "string", "minLength": 1}}  # fmt: skip
    export = op("Export audit records in a window (no bodies)", "admin", params=[
        _query("from", "Unix seconds (inclusive).", num), _query("to", "Unix seconds (exclusive).", num),
        _query("format", "jsonl or csv.", {"enum": ["jsonl", "csv"]})])  # fmt: skip
    export = _with_body(export, "application/x-ndjson", "JSON Lines (or text/csv)")
    export["responses"]["200"]["content"]["text/csv"] = {"schema": {"type": "string"}}
    bom = _with_body(op("The ML-BOM of registered artifacts (CycloneDX 1.6)", "admin"),
                     "application/vnd.cyclonedx+json", "CycloneDX JSON")  # fmt: skip
    return {
        "/admin/overview": {"get": op("Traffic over time by jurisdiction, provider, route reason; personal data; "
                                      "refusals", "admin", params=[
            _query("hours", "Window in hours (1–2208).", {"type": "integer", "minimum": 1, "maximum": 2208}),
            _query("bucket", "Bucket seconds (60–86400).", {"type": "integer", "minimum": 60, "maximum": 86400})])},
        "/admin/requests": {"get": op("Recorded requests, newest first, without bodies", "admin", params=[
            *filters, _query("limit", "At most 500.", {"type": "integer", "minimum": 1, "maximum": 500}),
            _query("before", "Only requests started before these unix seconds.", num)])},
        "/admin/audit/status": {"get": op("Audit chains: head, last signed checkpoint", "admin")},
        "/admin/audit/verify": {"post": op("Start verifying every audit chain", "admin", ok_status="202")},
        "/admin/audit/verify/{job_id}": {"get": op("Progress and result of a verification", "admin", params=[job])},
        "/admin/audit/export": {"get": export},
        "/admin/routing": {"get": op("Aliases, keys, teams and policies the routing explorer can pick", "admin")},
        "/admin/explain": {"get": op("Why each deployment of an alias is allowed or excluded for a key or team",
                                     "admin", params=[
            _query("alias", "A model alias.", {"type": "string", "minLength": 1}, required=True),
            _query("key_id", "A key id (neither: a key with no policy or team of its own)."),
            _query("team", "A team.")])},
        "/admin/cut-plan": {"get": op("What a cut or a restore would move", "admin", params=[
            _query("target", "A provider, country or law.", target, required=True),
            _query("action", "cut or restore.", {"enum": ["cut", "restore"]})])},
        "/admin/drill": {"get": op("The drill matrix: alias × policy under simulated cuts", "admin", params=[
            _query("cut", "Simulated cut targets.", target, many=True),
            _query("policy", "Policies to evaluate (default: every policy).", policy, many=True),
            _query("with", "'current' adds the cuts in force.", {"enum": ["current"]}, many=True),
            _query("window", "Load window for the capacity check: 1-9999m, 1-744h or 1-31d (default 24h).",
                   {"type": "string", "pattern": _WINDOW})])},
        "/admin/usage": {"get": op("Usage and cost per key, team, model, provider or jurisdiction", "admin", params=[
            _query("by", "Dimension.", {"enum": ["key", "team", "model", "provider", "jurisdiction"]}),
            _query("period", "day or month.", {"enum": ["day", "month"]}), _query("since", "Unix seconds.", num)])},
        "/admin/budgets": {"get": op("Spend today and this month against configured budgets", "admin")},
        "/admin/models": {"get": op("Registered artifacts: hashes, scan findings, licence verdict, "
                                    "acknowledgements", "admin")},
        "/admin/models/bom": {"get": bom},
        "/admin/events": {"get": op("Admin events: every change, by key and channel", "admin", params=[
            _query("limit", "At most 1000.", {"type": "integer", "minimum": 1, "maximum": 1000})])},
    }  # fmt: skip
