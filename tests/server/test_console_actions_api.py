"""The admin routes behind the console's Evaluations and Keys pages and its acknowledgements:
evaluation runs (list, report, compare), key revocation, model acknowledgements, and the
record-by-record progress of an audit verification.  Refusals get as many tests as successes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.support.console_actions import BLOCKED_MODEL, register_blocked, run_eval, runs_dir
from tests.support.console_lab import ConsoleLab, console_lab

from lockgate.server.admin_evals import REPORT_CSP

NEW_ROUTES = [
    ("GET", "/admin/evals"),
    ("GET", "/admin/evals/compare?a=x&b=y"),
    ("GET", "/admin/evals/x/report"),
    ("POST", "/admin/models/x/acks"),
]


@pytest.fixture
async def lab(tmp_path: Path) -> Any:
    async with console_lab(tmp_path) as made:
        yield made


async def _signed_in(lab: ConsoleLab, s: aiohttp.ClientSession) -> str:
    async with s.post(lab.base + "/console/signin", data={"key": lab.admin_key}, allow_redirects=False) as r:
        assert r.status == 303
    async with s.get(lab.base + "/console/session") as r:
        return str((await r.json())["csrf"])


async def _artifact(lab: ConsoleLab) -> dict[str, Any]:
    status, models = await lab.admin("GET", "/admin/models")
    assert status == 200
    return dict(next(a for a in models["data"] if a["name"] == BLOCKED_MODEL))


async def _recorded(lab: ConsoleLab, n: int) -> None:
    for _ in range(100):
        _status, page = await lab.admin("GET", "/admin/requests")
        if len(page["data"]) >= n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {n} records reached the audit log")


@pytest.fixture
async def blocked(lab: ConsoleLab, tmp_path: Path) -> str:
    return await register_blocked(lab, tmp_path)


async def test_new_routes_refuse_missing_and_client_keys(lab: ConsoleLab) -> None:
    async with aiohttp.ClientSession() as s:
        for method, path in NEW_ROUTES:
            async with s.request(method, lab.base + path, json={}) as r:
                assert r.status == 401, path
                assert (await r.json())["error"]["code"] == "invalid_api_key", path
            headers = {"Authorization": f"Bearer {lab.client_key}"}
            async with s.request(method, lab.base + path, json={}, headers=headers) as r:
                body = await r.json()
                assert r.status == 403, path
                assert set(body["error"]) >= {"message", "type", "param", "code"}, path


async def test_new_routes_are_documented(lab: ConsoleLab) -> None:
    async with aiohttp.ClientSession() as s, s.get(lab.base + "/openapi.json") as r:
        spec = await r.json()
    assert "get" in spec["paths"]["/admin/evals"]
    assert "get" in spec["paths"]["/admin/evals/compare"]
    assert "text/html" in spec["paths"]["/admin/evals/{run_id}/report"]["get"]["responses"]["200"]["content"]
    ack = spec["paths"]["/admin/models/{artifact_id}/acks"]["post"]
    assert "201" in ack["responses"] and ack["requestBody"]["required"] is True


async def test_no_runs_directory_yet_is_an_empty_list(lab: ConsoleLab) -> None:
    status, runs = await lab.admin("GET", "/admin/evals")
    assert status == 200 and runs["exists"] is False and runs["data"] == []
    assert runs["runs_dir"] == str(runs_dir(lab).resolve())


async def test_runs_list_report_and_compare(lab: ConsoleLab) -> None:
    await run_eval(lab, "before-cut")
    assert (await lab.admin("POST", "/admin/cuts", json={"target": "CN"}))[0] == 201
    await run_eval(lab, "after-cut")
    (runs_dir(lab) / "stray-file.txt").write_text("not a run")
    (runs_dir(lab) / "half-made").mkdir()
    status, runs = await lab.admin("GET", "/admin/evals")
    assert status == 200 and runs["exists"] is True
    by_id = {r["id"]: r for r in runs["data"]}
    assert set(by_id) == {"before-cut", "after-cut", "half-made"}
    assert "not a run directory" in by_id["half-made"]["error"]
    before = by_id["before-cut"]
    assert before["suite_name"] == "sovereignty-smoke" and before["models"] == ["deepseek-chat"]
    assert before["complete"] and before["report"] and before["items"] == 3 and before["started_at"]
    (score,) = before["scores"]
    assert score["model"] == "deepseek-chat" and score["mean"] == pytest.approx(2 / 3)
    assert by_id["after-cut"]["scores"][0]["mean"] == pytest.approx(1 / 3)

    async with (
        aiohttp.ClientSession() as s,
        s.get(
            lab.base + "/admin/evals/before-cut/report", headers={"Authorization": f"Bearer {lab.admin_key}"}
        ) as r,
    ):
        html = await r.text()
        assert r.status == 200 and r.content_type == "text/html"
        assert r.headers["Content-Security-Policy"] == REPORT_CSP
        assert "sandbox" in REPORT_CSP and "script-src" not in REPORT_CSP
        assert "sovereignty-smoke" in html and "<svg" in html

    status, cmp = await lab.admin("GET", "/admin/evals/compare?a=before-cut&b=after-cut")
    assert status == 200 and (cmp["run_a"], cmp["run_b"]) == ("before-cut", "after-cut")
    (change,) = cmp["changes"]
    assert change["flips"] == [{"item_id": "served-from-cn", "before": "pass", "after": "fail"}]
    overall = change["deltas"][0]
    assert overall["scope"] == "all" and overall["score_delta"] == pytest.approx(-1 / 3)
    status, bad = await lab.admin("GET", "/admin/evals/compare?a=before-cut&b=half-made")
    assert status == 404 and bad["error"]["param"] == "b" and "results.json" in bad["error"]["message"]
    status, bad = await lab.admin("GET", "/admin/evals/compare?a=nope&b=after-cut")
    assert status == 404 and bad["error"]["param"] == "a"
    status, bad = await lab.admin("GET", "/admin/evals/compare?b=after-cut")
    assert status == 404 and bad["error"]["param"] == "a"
    status, bad = await lab.admin("GET", "/admin/evals/half-made/report")
    assert status == 404 and "report.html" in bad["error"]["message"]


async def test_report_serving_refuses_traversal_and_symlinks_out(lab: ConsoleLab, tmp_path: Path) -> None:
    await run_eval(lab, "real")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "report.html").write_text("<p>outside the runs directory</p>")
    (runs_dir(lab) / "linked").symlink_to(secret, target_is_directory=True)
    (runs_dir(lab) / "real-linked-file").mkdir()
    (runs_dir(lab) / "real-linked-file" / "report.html").symlink_to(secret / "report.html")
    headers = {"Authorization": f"Bearer {lab.admin_key}"}
    paths = [
        "/admin/evals/linked/report", "/admin/evals/real-linked-file/report",
        "/admin/evals/..%2Fsecret/report", "/admin/evals/%2E%2E/report", "/admin/evals/.hidden/report",
        "/admin/evals/real%2F..%2F..%2Fsecret/report", "/admin/evals/compare?a=..&b=real",
    ]  # fmt: skip
    async with aiohttp.ClientSession() as s:
        for path in paths:
            async with s.get(lab.base + path, headers=headers) as r:
                body = await r.text()
                assert r.status == 404, path
                assert "outside the runs directory" not in body, path
                assert r.content_type == "application/json", path
        async with s.get(lab.base + "/admin/evals/../../etc/passwd", headers=headers) as r:
            assert r.status == 404 and "root:" not in await r.text()
    status, runs = await lab.admin("GET", "/admin/evals")
    assert status == 200 and {r["id"] for r in runs["data"]} == {"real", "real-linked-file"}


async def test_revoked_key_is_refused_at_once_and_the_event_names_the_admin(lab: ConsoleLab) -> None:
    status, keys = await lab.admin("GET", "/admin/keys")
    eu = next(k for k in keys["data"] if k["name"] == "eu-app")
    assert (await lab.chat("gpt", key=lab.eu_key))[0] == 200
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        csrf = await _signed_in(lab, s)
        async with s.delete(lab.base + f"/admin/keys/{eu['id']}") as r:  # no CSRF token
            assert r.status == 403 and (await r.json())["error"]["code"] == "csrf_failed"
        assert (await lab.chat("gpt", key=lab.eu_key))[0] == 200
        async with s.delete(lab.base + f"/admin/keys/{eu['id']}", headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 200
        async with s.delete(lab.base + f"/admin/keys/{eu['id']}", headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 404 and (await r.json())["error"]["param"] == "key_id"
    status, refused = await lab.chat("gpt", key=lab.eu_key)
    assert status == 401 and refused["error"]["type"]
    _status, events = await lab.admin("GET", "/admin/events")
    first = events["data"][0]
    assert (first["action"], first["target"], first["via"], first["key_name"]) == (
        "key.revoke", eu["id"], "console", "ops-admin")  # fmt: skip


async def test_ack_from_the_console_is_recorded_and_named(lab: ConsoleLab, blocked: str) -> None:
    art = await _artifact(lab)
    assert art["unacknowledged"], "the lab artifact needs an unacknowledged blocking rule"
    rule = art["unacknowledged"][0]
    path = f"/admin/models/{art['id']}/acks"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        csrf = await _signed_in(lab, s)
        async with s.post(lab.base + path, json={"rule": rule, "reason": "ok"}) as r:  # no CSRF token
            assert r.status == 403 and (await r.json())["error"]["code"] == "csrf_failed"
        async with s.post(lab.base + path, json={"rule": rule, "reason": "legal reviewed the terms"},
                          headers={"X-CSRF-Token": csrf}) as r:  # fmt: skip
            ack = await r.json()
            assert r.status == 201, ack
    assert ack["rule"] == rule and ack["by"].startswith("ops-admin (admin key ")
    art = await _artifact(lab)
    assert rule not in art["unacknowledged"]
    assert any(a["reason"] == "legal reviewed the terms" for a in art["acknowledgements"])
    _status, events = await lab.admin("GET", "/admin/events")
    first = events["data"][0]
    assert (first["action"], first["target"], first["via"], first["key_name"]) == (
        "model.ack", art["id"], "console", "ops-admin")  # fmt: skip
    assert first["detail"]["rule"] == rule and first["detail"]["ack_id"] == ack["id"]
    # by name, over the API, with a named person
    status, named = await lab.admin("POST", f"/admin/models/{art['name']}/acks",
                                     json={"rule": rule, "reason": "again", "by": "dpo@example.eu"})  # fmt: skip
    assert status == 201 and named["by"] == "dpo@example.eu"


@pytest.mark.parametrize(
    ("body", "param", "status"),
    [
        ({"reason": "x"}, "rule", 400),
        ({"rule": "", "reason": "x"}, "rule", 400),
        ({"rule": "licence.nope", "reason": "x"}, "rule", 400),
        ({"rule": "RULE", "reason": "   "}, "reason", 400),
        ({"rule": "RULE"}, "reason", 400),
        ({"rule": "RULE", "reason": "x", "by": 7}, "by", 400),
        ({"rule": "RULE", "reason": "x" * 2001}, "reason", 400),
    ],
)
async def test_ack_refusals_name_the_field(
    lab: ConsoleLab, blocked: str, body: dict[str, Any], param: str, status: int
) -> None:
    art = await _artifact(lab)
    body = {k: (art["blocking"][0] if v == "RULE" else v) for k, v in body.items()}
    got, err = await lab.admin("POST", f"/admin/models/{art['id']}/acks", json=body)
    assert got == status and err["error"]["param"] == param, err
    if param == "rule" and body.get("rule"):
        assert "blocking rules:" in err["error"]["message"]
    _status, after = await lab.admin("GET", "/admin/events")
    assert all(e["action"] != "model.ack" for e in after["data"])


async def test_ack_unknown_artifact_and_bad_json(lab: ConsoleLab) -> None:
    status, err = await lab.admin(
        "POST", "/admin/models/no-such-model/acks", json={"rule": "r", "reason": "x"}
    )
    assert (
        status == 404
        and err["error"]["param"] == "artifact_id"
        and "no registered artifact" in err["error"]["message"]
    )
    status, err = await lab.admin("POST", "/admin/models/x/acks", json=["not", "an", "object"])
    assert status == 400


async def test_verify_reports_progress_by_records(lab: ConsoleLab) -> None:
    for _ in range(4):
        assert (await lab.chat("gpt"))[0] == 200
    await _recorded(lab, 4)
    status, job = await lab.admin("POST", "/admin/audit/verify")
    assert status == 202 and job["records"] >= 4 and 0 <= job["records_done"] <= job["records"]
    for _ in range(200):
        _status, job = await lab.admin("GET", f"/admin/audit/verify/{job['id']}")
        if job["state"] != "running":
            break
        await asyncio.sleep(0.05)
    assert job["state"] == "done" and job["ok"] is True
    assert job["records_done"] == sum(c["records"] for c in job["results"]) >= 4


async def test_verify_stream_sends_progress_lines_until_the_final_state(lab: ConsoleLab) -> None:
    for _ in range(3):
        assert (await lab.chat("gpt"))[0] == 200
    await _recorded(lab, 3)
    headers = {"Authorization": f"Bearer {lab.admin_key}"}
    async with aiohttp.ClientSession() as s:
        async with s.post(lab.base + "/admin/audit/verify-stream", headers=headers) as r:
            assert r.status == 200 and r.content_type == "application/x-ndjson"
            states = [json.loads(line) for line in (await r.text()).splitlines()]
        async with s.post(lab.base + "/admin/audit/verify-stream") as r:
            assert r.status == 401
        async with s.post(
            lab.base + "/admin/audit/verify-stream", headers={"Authorization": f"Bearer {lab.client_key}"}
        ) as r:
            assert r.status == 403 and (await r.json())["error"]["type"] == "permission_error"
    assert len({st["id"] for st in states}) == 1
    done = [st["records_done"] for st in states]
    assert done == sorted(done)  # progress never goes back
    assert all(st["state"] == "running" for st in states[:-1])
    last = states[-1]
    assert last["state"] == "done" and last["ok"] is True and last["records_done"] == last["records"] >= 1
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        csrf = await _signed_in(lab, s)
        async with s.post(lab.base + "/admin/audit/verify-stream") as r:  # no CSRF token
            assert r.status == 403 and (await r.json())["error"]["code"] == "csrf_failed"
        async with s.post(lab.base + "/admin/audit/verify-stream", headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 200 and json.loads((await r.text()).splitlines()[-1])["ok"] is True
    _status, events = await lab.admin("GET", "/admin/events")
    assert [(e["action"], e["via"]) for e in events["data"][:2]] == [
        ("audit.verify", "console"),
        ("audit.verify", "api"),
    ]
