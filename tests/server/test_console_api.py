"""The admin JSON endpoints the console reads, and the console's session and CSRF rules."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.support.console_lab import ConsoleLab, console_lab

VIEW_ROUTES = [
    "/admin/overview", "/admin/requests", "/admin/audit/status", "/admin/routing",
    "/admin/explain?alias=gpt&team=legal", "/admin/cut-plan?target=CN", "/admin/drill", "/admin/usage",
    "/admin/budgets", "/admin/models", "/admin/models/bom", "/admin/events", "/admin/audit/export",
    "/admin/capacity",
]  # fmt: skip


async def _records(lab: ConsoleLab, n: int) -> list[dict[str, Any]]:
    for _ in range(100):
        status, page = await lab.admin("GET", "/admin/requests?limit=100")
        assert status == 200
        if len(page["data"]) >= n:
            return list(page["data"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {n} records reached the audit log")


@pytest.fixture
async def lab(tmp_path: Path) -> Any:
    async with console_lab(tmp_path) as made:
        yield made


async def test_view_routes_refuse_missing_and_client_keys_in_openai_shape(lab: ConsoleLab) -> None:
    async with aiohttp.ClientSession() as s:
        for path in [*VIEW_ROUTES, "/admin/audit/verify"]:
            method = "POST" if path.endswith("/verify") else "GET"
            async with s.request(method, lab.base + path) as r:
                body = await r.json()
                assert r.status == 401, path
                assert body["error"]["type"] and body["error"]["code"] == "invalid_api_key", path
            async with s.request(
                method, lab.base + path, headers={"Authorization": f"Bearer {lab.client_key}"}
            ) as r:
                body = await r.json()
                assert r.status == 403, path
                assert set(body["error"]) >= {"message", "type", "param", "code"}, path


async def test_every_view_route_is_documented(lab: ConsoleLab) -> None:
    async with aiohttp.ClientSession() as s, s.get(lab.base + "/openapi.json") as r:
        spec = await r.json()
    for path in [*VIEW_ROUTES, "/admin/audit/verify", "/admin/audit/verify/{job_id}"]:
        assert path.split("?")[0] in spec["paths"], path


async def test_overview_usage_and_request_list_show_recorded_traffic(lab: ConsoleLab) -> None:
    assert (await lab.chat("deepseek-chat"))[0] == 200
    # personal data goes to the self-hosted copy (pii_default: on-prem-only)
    status, reply = await lab.chat("deepseek-chat", content="mail anna.schmidt@example.de please")
    assert status == 200 and reply["_provider"] == "own"
    assert (await lab.chat("us-only", key=lab.eu_key))[0] == 403  # eu-sovereign refuses US
    rows = await _records(lab, 3)
    assert all("request_body" not in r and "response_body" not in r for r in rows)
    status, ov = await lab.admin("GET", "/admin/overview?hours=1")
    assert status == 200 and ov["totals"]["requests"] == 3 and ov["totals"]["refused"] == 1
    assert ov["totals"]["personal"] >= 1
    juris = {p["group"] for p in ov["series"]["jurisdiction"]}
    assert {"CN", "DE"} <= juris  # the refused request went nowhere
    assert {"jurisdiction": "DE", "requests": 1, "personal": 1} in ov["personal_data"]
    assert ov["refusals"][0]["error_type"] == "policy_denied"
    status, page = await lab.admin("GET", "/admin/requests?provider=cn")
    assert status == 200 and [r["provider"] for r in page["data"]] == ["cn"]
    status, bad = await lab.admin("GET", "/admin/requests?status=abc")
    assert status == 400 and bad["error"]["param"] == "status"
    status, usage = await lab.admin("GET", "/admin/usage?by=provider&period=day")
    assert status == 200 and {r["group"] for r in usage["data"]} >= {"cn", "own"}
    status, budgets = await lab.admin("GET", "/admin/budgets")
    legal = next(b for b in budgets["budgets"] if b["scope"] == "team")
    assert legal["name"] == "legal" and legal["limit"]["spend_per_day"] == 5.0


async def test_explain_names_the_excluding_rule_like_the_403(lab: ConsoleLab) -> None:
    status, routing = await lab.admin("GET", "/admin/routing")
    assert status == 200 and "legal" in routing["teams"] and "deepseek-chat" in routing["aliases"]
    eu = next(k for k in routing["keys"] if k["name"] == "eu-app")
    status, d = await lab.admin("GET", f"/admin/explain?alias=us-only&key_id={eu['id']}")
    assert status == 200 and d["policies"] == ["eu-sovereign"]
    (verdict,) = d["verdicts"]
    assert not verdict["allowed"]
    rule = verdict["excluded_by"][0]
    status, refused = await lab.chat("us-only", key=lab.eu_key)
    assert status == 403
    assert {"deployment": rule["deployment"], "policy": rule["policy"], "rule": rule["rule"],
            "detail": rule["detail"]} in refused["error"]["excluded"]  # fmt: skip
    facts = d["deployments"][0]["facts"]
    assert facts["operator_country"]["value"] == "US" and facts["operator_country"]["source"]
    status, _missing = await lab.admin("GET", "/admin/explain?alias=gpt&key_id=nope")
    assert status == 404


async def test_cut_preview_cut_and_drill(lab: ConsoleLab) -> None:
    status, plan = await lab.admin("GET", "/admin/cut-plan?target=CN")
    assert status == 200 and plan["aliases"] == [
        {"alias": "deepseek-chat", "moves": [{"deployment": "cn/ok", "jurisdiction": "CN", "cut_by": "CN"}],
         "serving_after": ["own/ok"]}]  # fmt: skip
    assert (await lab.chat("deepseek-chat"))[1]["_provider"] == "cn"
    assert (await lab.admin("POST", "/admin/cuts", json={"target": "CN", "reason": "test"}))[0] == 201
    assert (await lab.chat("deepseek-chat"))[1]["_provider"] == "own"
    status, drill = await lab.admin("GET", "/admin/drill?with=current")
    assert status == 200 and drill["cuts"] == ["CN"]
    cell = next(
        a for a in drill["aliases"] if a["alias"] == "deepseek-chat" and a["policy"] == "eu-sovereign"
    )
    assert cell["capacity"]["verdict"] == "unaffected"  # the policy excluded CN before the cut
    cell = next(a for a in drill["aliases"] if a["alias"] == "deepseek-chat" and a["policy"] == "public-data")
    assert cell["status"] == "insured" and cell["capacity"]["verdict"] == "unknown"  # never silently ok
    assert "capacity.tokens_per_minute" in cell["capacity"]["survivors"][0]["capacity_note"]
    assert (await lab.admin("GET", "/admin/drill?window=0m"))[0] == 400
    status, drill = await lab.admin("GET", "/admin/drill?cut=US&policy=eu-sovereign")
    assert (status == 200 and drill["policies"] == ["eu-sovereign"]) or "eu-sovereign" in drill["policies"]
    us_only = next(a for a in drill["aliases"] if a["alias"] == "us-only")
    assert us_only["status"] == "dark"
    status, restore = await lab.admin("GET", "/admin/cut-plan?target=CN&action=restore")
    assert restore["aliases"][0]["moves"][0]["deployment"] == "cn/ok"
    assert (await lab.admin("DELETE", "/admin/cuts/CN"))[0] == 200
    status, events = await lab.admin("GET", "/admin/events")
    assert [(e["action"], e["target"], e["via"], e["key_name"]) for e in events["data"][:2]] == [
        ("restore", "CN", "api", "ops-admin"), ("cut", "CN", "api", "ops-admin")]  # fmt: skip


async def test_audit_status_verify_and_export(lab: ConsoleLab) -> None:
    for _ in range(3):
        await lab.chat("gpt")
    await _records(lab, 3)
    status, verify = await lab.admin("POST", "/admin/audit/verify")
    assert status == 202
    for _ in range(200):
        status, job = await lab.admin("GET", f"/admin/audit/verify/{verify['id']}")
        if job["state"] != "running":
            break
        await asyncio.sleep(0.05)
    assert job["state"] == "done" and job["ok"] is True and job["chains_done"] == job["chains_total"] == 1
    status, chain = await lab.admin("GET", "/admin/audit/status")
    (main,) = chain["chains"]
    assert main["records"] >= 3
    status, text = await lab.admin("GET", "/admin/audit/export?format=jsonl")
    lines = [json.loads(line) for line in text.splitlines()]
    assert status == 200 and len(lines) >= 3 and "request_body" not in lines[0]
    assert (await lab.admin("GET", "/admin/audit/verify/unknown"))[0] == 404


async def test_models_view_and_bom(lab: ConsoleLab) -> None:
    status, models = await lab.admin("GET", "/admin/models")
    assert status == 200 and isinstance(models["data"], list)
    status, bom = await lab.admin("GET", "/admin/models/bom")
    assert status == 200 and json.loads(bom)["bomFormat"] == "CycloneDX"


async def test_console_session_cookie_csrf_and_revocation(lab: ConsoleLab) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as s:
        async with s.get(lab.base + "/console/", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "signin"
        async with s.post(
            lab.base + "/console/signin", data={"key": lab.client_key}, allow_redirects=False
        ) as r:
            assert r.status == 403 and "not an admin key" in await r.text()
        async with s.post(
            lab.base + "/console/signin", data={"key": lab.admin_key}, allow_redirects=False
        ) as r:
            assert r.status == 303
            cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and lab.admin_key not in cookie
        async with s.get(lab.base + "/console/") as r:
            assert r.status == 200 and "script-src 'self'" in r.headers["Content-Security-Policy"]
        async with s.get(lab.base + "/console/session") as r:
            csrf = (await r.json())["csrf"]
        async with s.get(lab.base + "/admin/overview") as r:
            assert r.status == 200
        async with s.post(lab.base + "/admin/cuts", json={"target": "CN"}) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "csrf_failed"
        async with s.post(lab.base + "/admin/cuts", json={"target": "CN"},
                          headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"}) as r:  # fmt: skip
            assert r.status == 403
        async with s.post(
            lab.base + "/admin/cuts", json={"target": "CN"}, headers={"X-CSRF-Token": csrf}
        ) as r:
            assert r.status == 201
        _status, events = await lab.admin("GET", "/admin/events")
        assert (events["data"][0]["action"], events["data"][0]["via"]) == ("cut", "console")
        assert events["data"][0]["key_name"] == "ops-admin"
        async with s.post(lab.base + "/console/signout", headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 200
        async with s.get(lab.base + "/admin/overview") as r:
            assert r.status == 401


async def test_capacity_route_shape(lab: ConsoleLab) -> None:
    status, data = await lab.admin("GET", "/admin/capacity")
    assert status == 200 and data["unit"] == "generated tokens"
    rows = {r["provider"]: r for r in data["data"]}
    assert set(rows) == set(lab.gw.providers)
    cn = rows["cn"]
    assert cn["kind"] == "openai" and cn["declared_tokens_per_minute"] is None
    assert cn["deployments"] == [{"alias": "deepseek-chat", "deployment": "cn/ok"}]
    measured = cn["measured"]
    assert measured["peak_tokens_per_minute"] is None and measured["tokens_per_second"] is None
    assert "declare capacity.tokens_per_minute" in measured["reason"]
