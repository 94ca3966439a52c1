"""Sovereign routing through a running gateway, driven by the openai SDK.

Four scripted upstreams on loopback stand in for an EU (Mistral facts), a US (OpenAI facts), a
Chinese (DeepSeek facts) and a self-hosted provider; each records what it received, so every
test can prove where a request did — and did not — go.
"""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from click.testing import CliRunner
from openai.types.chat import ChatCompletionMessageParam
from tests.e2e.conftest import SovereignLab, admin_call, dep, free_port, wait_for
from tests.support.gateway import remote, running_gateway

from lockgate.cli import cli
from lockgate.server.gateway import Gateway

IBAN = "DE89370400440532013000"
EMAIL = "anna.schmidt@example.de"
FILLER = "The quarterly review covers logistics, staffing, supplier terms and the office move. "
JURISDICTION = {"eu": "FR", "us": "US", "cn": "CN", "own": "DE"}
NONE_SEEN = {"eu": 0, "us": 0, "cn": 0, "own": 0}


def long_prompt(secret: str) -> str:
    """About 9 KB of ordinary text with one identifier in the middle."""
    half = FILLER * 55
    return f"{half}Please wire the deposit to {secret} before Friday. {half}"


def tool_call_messages(arguments: str) -> list[ChatCompletionMessageParam]:
    return [
        {"role": "user", "content": "Send the invoice to our contact."},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
         "function": {"name": "send_mail", "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "queued"},
    ]  # fmt: skip


def breaker(gw: Gateway, alias: str, provider: str) -> str:
    found = [d for d in gw.router.routes[alias].deployments if d.provider_name == provider]
    return found[0].breaker.state.value


# -- 1. fail closed ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "rules"),
    [
        ("on-prem-only", {"eu": "self_hosted", "us": "self_hosted", "cn": "self_hosted"}),
        ("eu-sovereign", {"us": "operator_country_in", "cn": "operator_country_in"}),
    ],
)
async def test_fail_closed_names_policy_and_each_excluded_deployment(
    lab: SovereignLab, policy: str, rules: dict[str, str]
) -> None:
    models = {"hosted": {"strategy": "ordered", "deployments": [dep(p) for p in rules]}}
    key = lab.key("client", policy=policy)
    async with running_gateway(lab.config(models), lab.tmp_path) as (base, _):
        with pytest.raises(openai.PermissionDeniedError) as info:
            await lab.chat(lab.client(base, key), "hosted")
    err: dict[str, Any] = info.value.body  # type: ignore[assignment]
    assert info.value.status_code == 403
    assert (err["type"], err["code"], err["param"]) == ("permission_error", "policy_denied", "model")
    assert err["policy"] == policy and policy in err["message"]
    got = {(e["deployment"], e["policy"], e["rule"]) for e in err["excluded"]}
    assert got == {(f"{p}/ok", policy, rule) for p, rule in rules.items()}
    assert all(f"{p}/ok" in err["message"] for p in rules)
    assert lab.seen() == NONE_SEEN


# -- 2. an eu-sovereign key never reaches US or CN ---------------------------------------------
@pytest.mark.parametrize("strategy", ["ordered", "weighted", "least-busy"])
async def test_eu_sovereign_key_never_reaches_us_or_cn(lab: SovereignLab, strategy: str) -> None:
    # US and CN come first and weigh most: if the policy ran after load-balancing they would win
    deps = [dep("us", weight=50), dep("cn", weight=50), dep("eu"), dep("own")]
    for up in lab.ups.values():
        up.delay = 0.02  # requests overlap, so least-busy sees deployments in flight
    key = lab.key("eu-client", policy="eu-sovereign")
    async with running_gateway(lab.config({"mix": {"strategy": strategy, "deployments": deps}}),
                               lab.tmp_path) as (base, _):  # fmt: skip
        client = lab.client(base, key)
        plain = await asyncio.gather(*(lab.chat(client, "mix", f"question {i}") for i in range(24)))
        streamed = await asyncio.gather(*(lab.stream(client, "mix", f"stream {i}") for i in range(4)))
    served = [(h, text, f"question {i}") for i, (h, text) in enumerate(plain)]
    served += [(h, "".join(d), f"stream {i}") for i, (h, d) in enumerate(streamed)]
    for headers, text, asked in served:
        provider = headers["x-lockgate-provider"]
        assert provider in ("eu", "own")
        assert headers["x-lockgate-jurisdiction"] == JURISDICTION[provider]
        assert headers["x-lockgate-policy"] == "eu-sovereign"
        assert text == f"{provider} says: {asked}"
    assert lab.seen()["us"] == lab.seen()["cn"] == 0
    providers = {h["x-lockgate-provider"] for h, _, _ in served}
    if strategy == "ordered":
        assert providers == {"eu"}  # the first eligible deployment in configured order
    if strategy == "weighted":
        assert providers == {"eu", "own"}  # equal weights among the eligible


# -- 3. a request may only make its policy stricter -------------------------------------------
async def test_policy_header_is_stricter_only(lab: SovereignLab) -> None:
    models = {
        "mix": {"strategy": "ordered", "deployments": [dep("us"), dep("cn"), dep("eu"), dep("own")]},
        "us-only": {"deployments": [dep("us")]},
    }
    keys = lab.key("public", policy="public-data"), lab.key("eu", policy="eu-sovereign")
    async with running_gateway(lab.config(models), lab.tmp_path) as (base, _):
        public, eu = (lab.client(base, k) for k in keys)
        baseline, _ = await lab.chat(public, "mix")
        narrowed = [await lab.chat(public, "mix", headers={"x-lockgate-policy": "on-prem-only"})
                    for _ in range(3)]  # fmt: skip
        lab.reset()
        widened, _ = await lab.chat(eu, "mix", headers={"x-lockgate-policy": "public-data"})
        with pytest.raises(openai.PermissionDeniedError) as still_denied:
            await lab.chat(eu, "us-only", headers={"x-lockgate-policy": "public-data"})
        with pytest.raises(openai.BadRequestError) as unknown:
            await lab.chat(public, "mix", headers={"x-lockgate-policy": "anything-goes"})
    assert baseline["x-lockgate-provider"] == "us"  # public-data alone allows the US provider
    for headers, text in narrowed:
        assert headers["x-lockgate-provider"] == "own" and text == "own says: hello"
        assert headers["x-lockgate-policy"] == "public-data+on-prem-only"
    assert widened["x-lockgate-provider"] == "eu"
    assert widened["x-lockgate-policy"] == "eu-sovereign+public-data"
    assert still_denied.value.body["policy"] == "eu-sovereign + public-data"  # type: ignore[index]
    assert unknown.value.body["param"] == "x-lockgate-policy"  # type: ignore[index]
    assert "anything-goes" in unknown.value.message
    assert lab.seen() == {**NONE_SEEN, "eu": 1}  # neither the widened nor the refused ones went out


# -- 4. personal data escalates to the personal-data policy -----------------------------------
async def test_personal_data_routes_to_self_hosted_only(lab: SovereignLab) -> None:
    models = {
        "mix": {"strategy": "ordered", "deployments": [dep("us"), dep("eu"), dep("cn"), dep("own")]},
        "hosted": {"strategy": "ordered", "deployments": [dep("eu"), dep("us")]},
    }
    prompt = long_prompt(IBAN)
    assert len(prompt.encode()) >= 5 * 1024
    key = lab.key("public", policy="public-data")
    async with running_gateway(lab.config(models), lab.tmp_path) as (base, _):
        client = lab.client(base, key)
        iban_h, _ = await lab.chat(client, "mix", prompt)
        mail_h, _ = await lab.chat(client, "mix", tool_call_messages(f'{{"to": "{EMAIL}"}}'))
        seen_personal = lab.seen()
        own_saw = lab.received("own")
        plain_h, _ = await lab.chat(client, "mix", tool_call_messages('{"to": "the usual contact"}'))
        lab.reset()
        with pytest.raises(openai.PermissionDeniedError) as denied:
            await lab.chat(client, "hosted", prompt)
    assert iban_h["x-lockgate-provider"] == mail_h["x-lockgate-provider"] == "own"
    assert iban_h["x-lockgate-policy"] == "public-data+on-prem-only"
    assert iban_h["x-lockgate-pii"] == "iban" and mail_h["x-lockgate-pii"] == "email"
    for headers in (iban_h, mail_h):
        assert not any(IBAN in v or EMAIL in v for v in headers.values())  # types, never values
    assert seen_personal == {**NONE_SEEN, "own": 2}
    assert IBAN.encode() in own_saw and EMAIL.encode() in own_saw  # routed, not redacted
    # the same conversation without the address goes to the first deployment as usual
    assert plain_h["x-lockgate-provider"] == "us" and "x-lockgate-pii" not in plain_h
    assert denied.value.status_code == 403
    assert "personal data" in denied.value.message and IBAN not in denied.value.message
    assert denied.value.body["policy"] == "public-data + on-prem-only"  # type: ignore[index]
    assert lab.seen() == NONE_SEEN


# -- 5. redaction round-trip --------------------------------------------------------------------
def _redact_models() -> dict[str, Any]:
    return {
        "eu-first": {"strategy": "ordered", "deployments": [dep("eu"), dep("own")]},
        "eu-chars": {"strategy": "ordered", "deployments": [dep("eu", "chars"), dep("own")]},
    }


async def test_redaction_round_trip_non_streaming(lab: SovereignLab) -> None:
    message = f"Wire it to {IBAN} and confirm to {EMAIL} please."
    key = lab.key("eu", policy="eu-sovereign")
    async with running_gateway(lab.config(_redact_models(), pii={"action": "redact"}),
                               lab.tmp_path) as (base, _):  # fmt: skip
        client = lab.client(base, key)
        headers, text = await lab.chat(client, "eu-first", message)
        tool_h, tool_text = await lab.chat(client, "eu-first", [
            *tool_call_messages(f'{{"to": "{EMAIL}"}}')[:2],
            {"role": "tool", "tool_call_id": "call_1", "content": f"paid from {IBAN}"}])  # fmt: skip
    assert headers["x-lockgate-provider"] == tool_h["x-lockgate-provider"] == "eu"
    assert headers["x-lockgate-redacted"] == "true" and headers["x-lockgate-pii"] == "email,iban"
    assert text == f"eu says: {message}"
    assert tool_text == f"eu says: paid from {IBAN}"
    sent = lab.received("eu")
    assert IBAN.encode() not in sent and EMAIL.encode() not in sent
    first, second = lab.ups["eu"].requests
    assert first["messages"][0]["content"] == "Wire it to [IBAN_1] and confirm to [EMAIL_1] please."
    assert second["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"to": "[EMAIL_1]"}'
    assert lab.seen()["own"] == 0


@pytest.mark.parametrize("alias", ["eu-first", "eu-chars"])  # words per chunk / 3 chars per chunk
async def test_redaction_round_trip_streaming(lab: SovereignLab, alias: str) -> None:
    message = f"Send {IBAN} to {EMAIL} and {IBAN} again."
    key = lab.key("eu", policy="eu-sovereign")
    async with running_gateway(lab.config(_redact_models(), pii={"action": "redact"}),
                               lab.tmp_path) as (base, _):  # fmt: skip
        client = lab.client(base, key)
        headers, deltas = await lab.stream(client, alias, message)
    assert headers["x-lockgate-provider"] == "eu" and headers["x-lockgate-redacted"] == "true"
    assert "".join(deltas) == f"eu says: {message}"
    assert not any("[IBAN_" in d or "[EMAIL_" in d for d in deltas)  # no placeholder leaks out
    sent = lab.received("eu")
    assert IBAN.encode() not in sent and EMAIL.encode() not in sent
    assert (
        lab.ups["eu"].requests[0]["messages"][0]["content"]
        == "Send [IBAN_1] to [EMAIL_1] and [IBAN_1] again."
    )


# -- 6. retries and the circuit breaker ---------------------------------------------------------
async def test_retries_only_on_retryable_errors(lab: SovereignLab) -> None:
    models = {
        "bad": {"strategy": "ordered", "deployments": [dep("eu", "bad400"), dep("own")]},
        "busy": {"deployments": [dep("eu")]},
    }
    cfg = lab.config(models, retry={"attempts": 2, "backoff_initial": 0.01, "backoff_max": 0.02})
    key = lab.key("public", policy="public-data")
    async with running_gateway(cfg, lab.tmp_path) as (base, _):
        client = lab.client(base, key)
        with pytest.raises(openai.BadRequestError):
            await lab.chat(client, "bad")
        after_400 = lab.seen()
        lab.ups["eu"].fail_first = 1
        headers, text = await lab.chat(client, "busy", "again")
    assert after_400 == {**NONE_SEEN, "eu": 1}  # neither retried nor failed over
    assert text == "eu says: again" and "HTTP 503" in headers["x-lockgate-route"]
    assert lab.seen()["eu"] == 3  # the 400, then the 503 and its retry


async def test_circuit_breaker_opens_skips_and_closes_after_probe(lab: SovereignLab) -> None:
    models = {"flaky": {"strategy": "ordered", "deployments": [dep("cn"), dep("own")]}}
    cfg = lab.config(models, retry={"attempts": 0}, breaker={"failure_threshold": 2, "reset_after": 0.3})
    cn = lab.ups["cn"]
    key, admin = lab.key("public", policy="public-data"), lab.key("ops", admin=True)
    async with running_gateway(cfg, lab.tmp_path) as (base, gw):
        client = lab.client(base, key)
        cn.fail_first = 2
        for _ in range(2):
            assert (await lab.chat(client, "flaky"))[0]["x-lockgate-provider"] == "own"
        _, state = await admin_call("GET", base + "/admin/deployments", admin)
        assert {d["deployment"]: d["breaker"] for d in state["data"]}["cn/ok"] == "open"
        skipped, _ = await lab.chat(client, "flaky")
        assert skipped["x-lockgate-provider"] == "own" and "circuit open" in skipped["x-lockgate-route"]
        assert len(cn.requests) == 2  # the open breaker kept the third request away
        await wait_for(lambda: breaker(gw, "flaky", "cn") == "half_open", "half-open")
        cn.fail_first = 1  # the half-open probe fails: open again for another period
        assert (await lab.chat(client, "flaky"))[0]["x-lockgate-provider"] == "own"
        assert len(cn.requests) == 3 and breaker(gw, "flaky", "cn") == "open"
        await wait_for(lambda: breaker(gw, "flaky", "cn") == "half_open", "half-open again")
        probe, text = await lab.chat(client, "flaky", "probe")
        assert probe["x-lockgate-provider"] == "cn" and probe["x-lockgate-route"] == "primary"
        assert text == "cn says: probe" and breaker(gw, "flaky", "cn") == "closed"


# -- 7. insurance: the self-hosted copy takes over -------------------------------------------
def _insured(primary: str, model: str = "deepseek-chat") -> dict[str, Any]:
    copy = dep("own", "r1-distill", self_hosted_copy_of="deepseek-chat")
    return {"strategy": "ordered", "protected": True, "deployments": [dep(primary, model), copy]}


async def test_insurance_when_hosted_fails_or_is_unreachable(lab: SovereignLab) -> None:
    models = {"down": _insured("cn", "fail500"), "dead": _insured("cn-dead")}
    cfg = lab.config(models)
    dead = f"http://127.0.0.1:{free_port()}/v1"
    cfg["providers"]["cn-dead"] = remote(dead, catalogue="deepseek", timeouts={"connect": 2, "read": 5})
    key = lab.key("public", policy="public-data")
    async with running_gateway(cfg, lab.tmp_path) as (base, _):
        client = lab.client(base, key)
        results = {alias: await lab.chat(client, alias, "hi") for alias in models}
    for alias, (headers, text) in results.items():
        assert headers["x-lockgate-provider"] == "own", alias
        assert headers["x-lockgate-jurisdiction"] == "DE" and text == "own says: hi"
        assert headers["x-lockgate-route"].startswith("insurance: self-hosted copy of deepseek-chat")
    assert "HTTP 500" in results["down"][0]["x-lockgate-route"]
    assert "unreachable" in results["dead"][0]["x-lockgate-route"]


async def test_insurance_header_when_hosted_is_excluded_by_policy(lab: SovereignLab) -> None:
    key = lab.key("eu", policy="eu-sovereign")
    async with running_gateway(lab.config({"deepseek-chat": _insured("cn")}), lab.tmp_path) as (base, _):
        client = lab.client(base, key)
        headers, text = await lab.chat(client, "deepseek-chat", "hi")
    assert headers["x-lockgate-provider"] == "own" and text == "own says: hi"
    assert lab.seen()["cn"] == 0
    assert headers["x-lockgate-route"].startswith("insurance")


# -- 8. the kill switch at runtime -----------------------------------------------------------
async def test_kill_switch_via_admin_api(lab: SovereignLab) -> None:
    key, admin, plain = lab.key("public", policy="public-data"), lab.key("ops", admin=True), lab.key("x")
    async with running_gateway(lab.config({"deepseek-chat": _insured("cn")}), lab.tmp_path) as (base, _):
        client = lab.client(base, key)
        before, _ = await lab.chat(client, "deepseek-chat")
        refused = await admin_call("POST", base + "/admin/cuts", plain, {"target": "CN"})
        made = await admin_call("POST", base + "/admin/cuts", admin, {"target": "CN", "reason": "test"})
        cut, _ = await lab.chat(client, "deepseek-chat")
        listed = await admin_call("GET", base + "/admin/cuts", admin)
        lifted = await admin_call("DELETE", base + "/admin/cuts/CN", admin)
        after, _ = await lab.chat(client, "deepseek-chat")
    assert before["x-lockgate-provider"] == after["x-lockgate-provider"] == "cn"
    assert refused[0] == 403
    assert made == (201, {"cut": "CN"})
    assert cut["x-lockgate-provider"] == "own" and cut["x-lockgate-jurisdiction"] == "DE"
    assert [c["target"] for c in listed[1]["data"]] == ["CN"]
    assert lifted == (200, {"restored": "CN"})
    assert lab.seen()["cn"] == 2


async def test_kill_switch_via_cli_reaches_the_running_gateway(lab: SovereignLab) -> None:
    cfg = lab.config({"deepseek-chat": _insured("cn")})
    path = lab.write_config(cfg)
    runner = CliRunner()
    key = lab.key("public", policy="public-data")
    async with running_gateway(cfg, lab.tmp_path) as (base, gw):
        client = lab.client(base, key)
        assert (await lab.chat(client, "deepseek-chat"))[0]["x-lockgate-provider"] == "cn"
        cut = await asyncio.to_thread(runner.invoke, cli, ["providers", "cut", "CN", "-c", str(path)])
        assert cut.exit_code == 0, cut.output
        assert "cut CN (country)" in cut.output and "cn" in cut.output.split("affects:")[1]
        await wait_for(lambda: "CN" in gw.cuts.targets, "the gateway to load the CLI's cut")
        headers, _ = await lab.chat(client, "deepseek-chat")
        assert headers["x-lockgate-provider"] == "own"
        restore = await asyncio.to_thread(runner.invoke, cli, ["providers", "restore", "CN", "-c", str(path)])
        assert restore.exit_code == 0, restore.output
        await wait_for(lambda: not gw.cuts.targets, "the gateway to drop the cut")
        assert (await lab.chat(client, "deepseek-chat"))[0]["x-lockgate-provider"] == "cn"
    assert lab.seen()["cn"] == 2


async def test_cut_survives_a_gateway_restart(lab: SovereignLab) -> None:
    cfg = lab.config({"deepseek-chat": _insured("cn")})
    admin, client_key = lab.key("ops", admin=True), lab.key("public", policy="public-data")
    async with running_gateway(cfg, lab.tmp_path) as (base, _):
        assert (await admin_call("POST", base + "/admin/cuts", admin, {"target": "deepseek"}))[0] == 201
    async with running_gateway(cfg, lab.tmp_path) as (base, _):  # same data_dir, new gateway
        headers, _ = await lab.chat(lab.client(base, client_key), "deepseek-chat")
        _, state = await admin_call("GET", base + "/admin/deployments", admin)
    assert headers["x-lockgate-provider"] == "own"
    assert {d["deployment"]: d["cut"] for d in state["data"]}["cn/deepseek-chat"] == "deepseek"
    assert lab.seen()["cn"] == 0


# -- 9. the live drill header -----------------------------------------------------------------
async def test_drill_cut_header_is_per_request_and_admin_only(lab: SovereignLab) -> None:
    models = {"us-first": {"strategy": "ordered", "deployments": [dep("us"), dep("eu")]}}
    keys = lab.key("ops", admin=True), lab.key("public", policy="public-data")
    async with running_gateway(lab.config(models), lab.tmp_path) as (base, gw):
        admin, client = (lab.client(base, k) for k in keys)
        drilled, _ = await lab.chat(admin, "us-first", headers={"x-lockgate-drill-cut": "US"})
        normal, _ = await lab.chat(admin, "us-first")
        with pytest.raises(openai.PermissionDeniedError) as denied:
            await lab.chat(client, "us-first", headers={"x-lockgate-drill-cut": "US"})
        with pytest.raises(openai.BadRequestError) as bad:
            await lab.chat(admin, "us-first", headers={"x-lockgate-drill-cut": "Atlantis"})
        assert not gw.cuts.targets
    assert drilled["x-lockgate-provider"] == "eu" and normal["x-lockgate-provider"] == "us"
    assert denied.value.body["param"] == "x-lockgate-drill-cut"  # type: ignore[index]
    assert bad.value.body["param"] == "x-lockgate-drill-cut"  # type: ignore[index]
    assert lab.seen() == {**NONE_SEEN, "us": 1, "eu": 1}


async def test_live_drill_against_a_running_gateway(
    lab: SovereignLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lockgate drill --live` cuts US for its own requests only, through the real gateway."""
    import asyncio
    import json

    from click.testing import CliRunner

    from lockgate.cli import cli

    monkeypatch.setenv("DRILL_ADMIN", "drill-admin-key-123456")
    cfg = lab.config({"deepseek-chat": _insured("us")})
    cfg["auth"] = {"mode": "keys", "admin_key": "${DRILL_ADMIN}"}
    path = lab.write_config(cfg)
    async with running_gateway(cfg, lab.tmp_path) as (base, gw):
        args = ["drill", "-c", str(path), "--cut", "US", "--json", "--live", "--url", base,
                "--key", "drill-admin-key-123456"]  # fmt: skip
        result = await asyncio.to_thread(CliRunner().invoke, cli, args)
        assert gw.cuts.targets == set()  # the running gateway itself was not cut
    assert result.exit_code == 0, result.output
    live = json.loads(result.stdout)["live"]
    served = {r["alias"]: r for r in live}
    assert served["deepseek-chat"]["status"] == 200
    assert served["deepseek-chat"]["provider"] == "own"
    assert lab.seen()["us"] == 0
