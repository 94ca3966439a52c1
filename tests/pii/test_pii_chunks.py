"""The gateway-facing side of redaction: findings reuse, whole replies, SSE chunk hook."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import PiiScanner
from lockgate.pii.redact import Redactor

IBAN = "DE89370400440532013000"
EMAIL = "anna.schmidt@example.com"
SCANNER = PiiScanner(PiiConfig())


def _redacted() -> tuple[dict[str, Any], Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": f"Pay {IBAN}, mail {EMAIL}"}]}
    return Redactor().redact(body, SCANNER.scan_request(body))


def test_redact_from_findings_without_rescanning() -> None:
    redacted, restorer = _redacted()
    assert redacted["messages"][0]["content"] == "Pay [IBAN_1], mail [EMAIL_1]"
    assert restorer.mapping == {"[IBAN_1]": IBAN, "[EMAIL_1]": EMAIL}


def test_stale_findings_are_ignored_and_missing_scanner_is_an_error() -> None:
    body = {"prompt": f"Pay {IBAN}"}
    findings = SCANNER.scan_request({"prompt": f"xx Pay {IBAN}"})  # offsets of another text
    redacted, restorer = Redactor().redact(body, findings)
    assert redacted == body and not restorer
    with pytest.raises(ValueError, match="PiiScanner"):
        Redactor().redact(body)


def test_restore_response_non_streamed() -> None:
    _, restorer = _redacted()
    reply = {
        "choices": [
            {
                "message": {
                    "content": "Paid from [IBAN_1].",
                    "tool_calls": [{"function": {"arguments": json.dumps({"to": "[EMAIL_1]"})}}],
                }
            }
        ]
    }
    out = restorer.restore_response(reply)
    assert out["choices"][0]["message"]["content"] == f"Paid from {IBAN}."
    assert json.loads(out["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]) == {"to": EMAIL}


def _chunk(index: int = 0, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    return {"choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def test_stream_hook_restores_content_split_across_chunks() -> None:
    _, restorer = _redacted()
    hook = restorer.stream_hook()
    text = "Paid from [IBAN_1] and mailed [EMAIL_1]. Thanks [EMAIL_"
    for cut in range(1, len(text)):
        hook = restorer.stream_hook()
        outs = [
            hook(_chunk(content=text[:cut])),
            hook(_chunk(content=text[cut:])),
            hook(_chunk(finish="stop")),
        ]
        joined = "".join(o["choices"][0]["delta"].get("content") or "" for o in outs)
        assert joined == f"Paid from {IBAN} and mailed {EMAIL}. Thanks [EMAIL_"


def test_stream_hook_tool_call_arguments_and_choices_are_separate() -> None:
    _, restorer = _redacted()
    hook = restorer.stream_hook()
    a = hook(_chunk(tool_calls=[{"index": 0, "function": {"name": "pay", "arguments": '{"iban": "[IB'}}]))
    b = hook(_chunk(index=1, content="[IB"))  # another choice: its own stream
    c = hook(_chunk(tool_calls=[{"index": 0, "function": {"arguments": 'AN_1]"}'}}]))
    d = hook(_chunk(index=1, content="AN_1]", finish="stop"))
    assert a["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] == '{"iban": "'
    assert b["choices"][0]["delta"]["content"] == ""
    assert c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] == f'{IBAN}"}}'
    assert d["choices"][0]["delta"]["content"] == IBAN


def test_stream_hook_flushes_held_tool_arguments_and_legacy_text() -> None:
    _, restorer = _redacted()
    hook = restorer.stream_hook()
    hook(_chunk(tool_calls=[{"index": 2, "function": {"arguments": "x [EMAIL"}}]))
    last = hook(_chunk(finish="tool_calls"))
    assert last["choices"][0]["delta"]["tool_calls"] == [{"index": 2, "function": {"arguments": "[EMAIL"}}]
    legacy = restorer.stream_hook()
    first = legacy({"choices": [{"index": 0, "text": "to [EMA", "finish_reason": None}]})
    end = legacy({"choices": [{"index": 0, "text": "IL_1]", "finish_reason": "stop"}]})
    assert first["choices"][0]["text"] + end["choices"][0]["text"] == f"to {EMAIL}"
    assert legacy({"id": "x"}) == {"id": "x"}
