"""Names, postal addresses and health data through a running gateway: routing per type
(`pii.types`), blocking health data, and redaction round trips with the new placeholders."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from tests.e2e.conftest import SovereignLab, dep
from tests.support.gateway import running_gateway

MARIA = "Maria Schmidt, Hauptstrasse 5, 10115 Berlin, diagnosis: type 2 diabetes"
NAME_ONLY = "Please ask Maria Schmidt to call back about the quote."
NONE_SEEN = {"eu": 0, "us": 0, "cn": 0, "own": 0}


def _models() -> dict[str, Any]:
    # the EU provider comes first: only the personal-data policy moves a request off it
    return {"mix": {"strategy": "ordered", "deployments": [dep("us"), dep("eu"), dep("cn"), dep("own")]}}


async def test_name_address_health_route_to_the_local_engine_under_eu_sovereign(lab: SovereignLab) -> None:
    key = lab.key("eu", policy="eu-sovereign")
    async with running_gateway(lab.config(_models()), lab.tmp_path) as (base, _):
        client = lab.client(base, key)
        headers, text = await lab.chat(client, "mix", MARIA)
        plain, _ = await lab.chat(client, "mix", "Please summarise the quarterly logistics review.")
    assert headers["x-lockgate-provider"] == "own" and text == f"own says: {MARIA}"
    assert headers["x-lockgate-pii"] == "address,health,name"  # types, never values
    assert headers["x-lockgate-policy"] == "eu-sovereign+on-prem-only"
    assert not any("Schmidt" in v or "diabetes" in v for v in headers.values())
    assert plain["x-lockgate-provider"] == "eu" and "x-lockgate-pii" not in plain
    assert lab.seen() == {**NONE_SEEN, "own": 1, "eu": 1}


async def test_health_block_policy_refuses_health_data_and_routes_names(lab: SovereignLab) -> None:
    key = lab.key("eu", policy="eu-sovereign")
    pii = {"types": {"health": "block", "name": "route"}}
    async with running_gateway(lab.config(_models(), pii=pii), lab.tmp_path) as (base, _):
        client = lab.client(base, key)
        with pytest.raises(openai.PermissionDeniedError) as denied:
            await lab.chat(client, "mix", MARIA)
        blocked_seen = lab.seen()
        named, _ = await lab.chat(client, "mix", NAME_ONLY)
    err: dict[str, Any] = denied.value.body  # type: ignore[assignment]
    assert denied.value.status_code == 403 and err["code"] == "personal_data_blocked"
    assert "health" in denied.value.message and "Schmidt" not in denied.value.message
    assert blocked_seen == NONE_SEEN  # nothing left the gateway
    assert named["x-lockgate-provider"] == "own" and named["x-lockgate-pii"] == "name"


def _redact_models() -> dict[str, Any]:
    return {
        "eu-first": {"strategy": "ordered", "deployments": [dep("eu"), dep("own")]},
        "eu-chars": {"strategy": "ordered", "deployments": [dep("eu", "chars"), dep("own")]},
    }


async def test_redaction_round_trip_for_names_addresses_and_health(lab: SovereignLab) -> None:
    key = lab.key("eu", policy="eu-sovereign")
    async with running_gateway(lab.config(_redact_models(), pii={"action": "redact"}),
                               lab.tmp_path) as (base, _):  # fmt: skip
        client = lab.client(base, key)
        headers, text = await lab.chat(client, "eu-first", MARIA)
    assert headers["x-lockgate-provider"] == "eu" and headers["x-lockgate-redacted"] == "true"
    assert text == f"eu says: {MARIA}"  # placeholders restored in the reply
    sent = lab.ups["eu"].requests[0]["messages"][0]["content"]
    assert sent == "[NAME_1], [ADDRESS_1], diagnosis: [HEALTH_1]"
    assert b"Schmidt" not in lab.received("eu") and b"diabetes" not in lab.received("eu")


@pytest.mark.parametrize("alias", ["eu-first", "eu-chars"])  # words per chunk / 3 chars per chunk
async def test_redaction_round_trip_streaming_for_the_new_types(lab: SovereignLab, alias: str) -> None:
    message = f"{MARIA}. Please confirm to Maria Schmidt."
    key = lab.key("eu", policy="eu-sovereign")
    async with running_gateway(lab.config(_redact_models(), pii={"action": "redact"}),
                               lab.tmp_path) as (base, _):  # fmt: skip
        client = lab.client(base, key)
        headers, deltas = await lab.stream(client, alias, message)
    assert headers["x-lockgate-provider"] == "eu" and headers["x-lockgate-redacted"] == "true"
    assert "".join(deltas) == f"eu says: {message}"
    assert not any(p in d for d in deltas for p in ("[NAME_", "[ADDRESS_", "[HEALTH_"))
    sent = lab.ups["eu"].requests[0]["messages"][0]["content"]
    assert sent == "[NAME_1], [ADDRESS_1], diagnosis: [HEALTH_1]. Please confirm to [NAME_1]."
